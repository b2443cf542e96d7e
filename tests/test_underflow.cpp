// Gradual underflow: where an exp-based activation or its derivative falls into float32's
// subnormal range (or passes through a subnormal intermediate on the way to a normal result),
// the kernels give what IEEE arithmetic with gradual underflow gives, not 0. Every exp-based
// activation is swept through the exp argument's underflow range [-105, -80] (and gelu through
// its tails), forward (Y, Z), backward (dZ) and chained backward (dZ of the layer below), on each
// ISA this CPU runs, against the double reference.
//
// The absolute allowance here is two units of the last subnormal place (2^-148), not the 1e-30
// of the general bound (docs/numerics.md), which would let a result of 0 pass for anything below
// 1e-30.
#include "support/compare.h"
#include "support/cases.h"

#include "reference/reference.h"
#include "reluforge/reluforge.h"

#include <catch2/catch.hpp>

#include <cmath>

using namespace reluforge;

namespace {

constexpr double kEval = cases::kEvalUlps * cases::kUlp;
const double kSubnormalUnits = std::ldexp(1.0, -148);

struct IsaLimit {
    explicit IsaLimit(Isa isa) { set_isa_limit(isa); }
    ~IsaLimit() { set_isa_limit(Isa::avx512); }
};

// Points from lo to hi in steps of `step`, each a float.
std::vector<float> sweep(double lo, double hi, double step) {
    std::vector<float> z;
    for (double v = lo; v <= hi; v += step) z.push_back(float(v));
    return z;
}

// f evaluated in float: within kEval of f at a z carrying kEval relative error (|z| |f'|), plus
// its own rounding (|f|), plus two subnormal units.
double bound(double z, double f, double fprime) {
    return kEval * (std::abs(z * fprime) + std::abs(f)) + kSubnormalUnits;
}

// Y and Z through forward with K = 1, W = 1 (so Z = z exactly); the layer saves Z.
void forward_sweep(const Activation &act, std::vector<float> z, cases::Comparison &cmp) {
    const int P = int(z.size());
    Linear layer(act, false, WeightLayout::nk, Save::z);
    std::vector<float> y(size_t(P), -7.0f), saved(size_t(P), -7.0f);
    float one = 1.0f;
    ForwardArgs a;
    a.x = Tensor::matrix(z.data(), P, 1);
    a.w = Tensor::matrix(&one, 1, 1);
    a.y = Tensor::matrix(y.data(), P, 1);
    a.aux = Tensor::matrix(saved.data(), P, 1);
    layer.forward(a);
    for (int p = 0; p < P; p++) {
        const double want = ref::act(act, z[size_t(p)]);
        const std::string where = "y at z=" + std::to_string(z[size_t(p)]);
        cmp.add(y[size_t(p)], want, bound(z[size_t(p)], want, ref::grad(act, z[size_t(p)])), where);
        cmp.exact(saved[size_t(p)], z[size_t(p)], "z at " + where);
    }
}

// dZ = dY act'(z) through activation_backward, with dY = 1 and dY = 0.75 (a product that rounds
// in the subnormal range).
void backward_sweep(const Activation &act, std::vector<float> z, cases::Comparison &cmp) {
    const int P = int(z.size());
    Linear layer(act, false, WeightLayout::nk, Save::z);
    for (float dy_value : {1.0f, 0.75f}) {
        std::vector<float> dy(size_t(P), dy_value), dz(size_t(P), -7.0f);
        BackwardArgs a;
        a.dy = Tensor::matrix(dy.data(), P, 1);
        a.aux = Tensor::matrix(z.data(), P, 1);
        a.dz = Tensor::matrix(dz.data(), P, 1);
        layer.backward(a);
        for (int p = 0; p < P; p++) {
            const double zz = z[size_t(p)], want = dy_value * ref::grad(act, zz);
            cmp.add(dz[size_t(p)], want, bound(zz, want, dy_value * ref::grad2(act, zz)),
                    "dz (dy=" + std::to_string(dy_value) + ") at z=" + std::to_string(zz));
        }
    }
}

// The chained backward-data kernel of an identity layer above: dZ_prev = (dZ Wᵀ) act'(z_prev)
// with dZ = 1, W = 1.
void chained_sweep(const Activation &act, std::vector<float> zprev, cases::Comparison &cmp) {
    const int P = int(zprev.size());
    const Linear prev(act, false, WeightLayout::nk, Save::z);
    const Linear top = cases::top_of(prev);
    std::vector<float> dz(size_t(P), 1.0f), x(size_t(P), 1.0f), dzp(size_t(P), -7.0f);
    float w = 1.0f, dw = 0.0f, db = 0.0f;
    ChainedBackwardArgs a;
    a.dz = Tensor::matrix(dz.data(), P, 1);
    a.x = Tensor::matrix(x.data(), P, 1);
    a.w = Tensor::matrix(&w, 1, 1);
    a.prev_aux = Tensor::matrix(zprev.data(), P, 1);
    a.dw = Tensor::matrix(&dw, 1, 1);
    a.db = Tensor::vector(&db, 1);
    a.dz_prev = Tensor::matrix(dzp.data(), P, 1);
    top.backward_chained(prev, a);
    for (int p = 0; p < P; p++) {
        const double zz = zprev[size_t(p)], want = ref::grad(act, zz);
        cmp.add(dzp[size_t(p)], want, bound(zz, want, ref::grad2(act, zz)), "chained dz_prev at z=" + std::to_string(zz));
    }
}

struct Sweep {
    const char *act;
    double lo, hi;  // z range; the exp argument's [-105, -80] scaled by the activation's parameter
};

}  // namespace

TEST_CASE("exp-based activations underflow gradually, forward and backward, on every ISA", "[numerics][underflow]") {
    const Sweep sweeps[] = {
        {"elu(alpha=1)", -105, -80},         {"elu(alpha=0.5)", -105, -80},
        {"selu", -105, -80},                 {"celu(alpha=2)", -210, -160},
        {"celu(alpha=2)", -105, -80},        {"silu", -105, -80},
        {"mish", -105, -80},                 {"softplus(beta=1,threshold=20)", -105, -80},
        {"softplus(beta=2,threshold=10)", -52.5, -40},
        {"gelu(approximate=none)", -14.5, -9.5}, {"gelu(approximate=tanh)", -14.5, -9.5},
        {"gelu(approximate=none)", -105, -80},   {"gelu(approximate=tanh)", -105, -80},
    };
    int isas = 0;
    for (Isa isa : {Isa::sse41, Isa::avx2, Isa::avx512}) {
        if (isa > host_isa()) continue;
        isas++;
        IsaLimit limit(isa);
        for (const auto &s : sweeps) {
            const Activation act = parse_activation(s.act);
            // Steps of about 0.01 in the exp argument: 2500 points a range.
            const auto z = sweep(s.lo, s.hi, (s.hi - s.lo) / 2500);
            cases::Comparison cmp;
            forward_sweep(act, z, cmp);
            backward_sweep(act, z, cmp);
            chained_sweep(act, z, cmp);
            INFO(to_string(isa) << " " << s.act << " z in [" << s.lo << ", " << s.hi << "]\n" << cmp.report);
            CHECK(cmp.checked == 5 * int(z.size()));
            CHECK(cmp.failed == 0);
        }
    }
    CHECK(isas >= 1);
}

// The values that came out as 0 before gradual underflow, checked on their own.
TEST_CASE("subnormal results and results through subnormal intermediates", "[numerics][underflow]") {
    struct Point {
        const char *act;
        float z;
        bool derivative;
        double want;  // float64, from the formulas
    };
    const Point points[] = {
        {"elu(alpha=1)", -87.34f, true, 1.17144e-38},  // e^-87.34, just below FLT_MIN
        {"elu(alpha=1)", -88.0f, true, 6.0546e-39},
        {"selu", -88.0f, true, 1.0507009873554805 * 1.6732632423543772 * 6.0546e-39},
        {"softplus(beta=1,threshold=20)", -88.0f, false, 6.0546e-39},
        {"softplus(beta=2,threshold=10)", -44.0f, false, 3.0273e-39},
        {"mish", -88.0f, false, -5.3280e-37},  // a normal float
        {"silu", -89.0f, false, -1.98235e-37},  // σ(-89) = 2.2e-39 on the way
    };
    for (const auto &p : points) {
        const Activation act = parse_activation(p.act);
        cases::Comparison cmp;
        std::vector<float> z{p.z};
        if (p.derivative) backward_sweep(act, z, cmp);
        else forward_sweep(act, z, cmp);
        const double reference = p.derivative ? ref::grad(act, p.z) : ref::act(act, p.z);
        INFO(p.act << (p.derivative ? "'" : "") << "(" << p.z << ")\n" << cmp.report);
        CHECK(std::abs(reference - p.want) <= 1e-4 * std::abs(p.want));  // the reference agrees
        CHECK(cmp.failed == 0);
    }
}
