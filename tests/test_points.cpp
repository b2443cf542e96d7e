// act'(z) at the points of docs/numerics.md's table (values from PyTorch 1.13 autograd in float64),
// and the non-finite forward values the contract names, through the kernels.
#include "support/cases.h"

#include "reluforge/reluforge.h"

#include <catch2/catch.hpp>

#include <cmath>

using namespace reluforge;

namespace {

// act'(z) through activation_backward with dY = 1 and the exact Z saved.
std::vector<float> derivative_at(const Activation &act, std::vector<float> z) {
    const int P = int(z.size());
    Linear layer(act, false, WeightLayout::nk, Save::z);
    std::vector<float> dy(static_cast<size_t>(P), 1.0f), dz(static_cast<size_t>(P));
    float slope = 0.25f, dslope = 0.0f;
    BackwardArgs a;
    a.dy = Tensor::matrix(dy.data(), P, 1);
    a.aux = Tensor::matrix(z.data(), P, 1);
    if (act.kind == Act::prelu) {
        a.slope = Tensor::vector(&slope, 1);
        a.dslope = Tensor::vector(&dslope, 1);
    }
    a.dz = Tensor::matrix(dz.data(), P, 1);
    layer.backward(a);
    return dz;
}

// act(z) through forward with K = 1, W = 1 (so Z = z exactly).
std::vector<float> value_at(const Activation &act, std::vector<float> z) {
    const int P = int(z.size());
    Linear layer(act, false, WeightLayout::nk, act.kind == Act::identity ? Save::none : Save::z);
    std::vector<float> y(static_cast<size_t>(P));
    float one = 1.0f, slope = 0.25f;
    ForwardArgs a;
    a.x = Tensor::matrix(z.data(), P, 1);
    a.w = Tensor::matrix(&one, 1, 1);
    if (act.kind == Act::prelu) a.slope = Tensor::vector(&slope, 1);
    a.y = Tensor::matrix(y.data(), P, 1);
    layer.forward(a);
    return y;
}

struct Row {
    const char *act;
    double at0, atm3, at3, at6, atnan;
};

}  // namespace

TEST_CASE("act' at the points of the numerics table", "[points]") {
    const Row rows[] = {
        {"relu", 0, 0, 1, 1, 1},
        {"leaky_relu(slope=0.01)", 0.01, 0.01, 1, 1, 0.01},
        {"elu(alpha=1)", 1, 0.0497871, 1, 1, 1},
        {"elu(alpha=0.5)", 0.5, 0.0248935, 1, 1, 1},
        {"selu", 1.7581, 0.0875306, 1.0507, 1.0507, 1.0507},
        {"celu(alpha=2)", 1, 0.22313, 1, 1, 1},
        {"relu6", 0, 0, 1, 0, 1},
        {"gelu(approximate=none)", 0.5, -0.0119456, 1.01195, 1, NAN},
        {"gelu(approximate=tanh)", 0.5, -0.0115842, 1.01158, 1, NAN},
        {"silu", 0.5, -0.0881041, 1.0881, 1.01233, NAN},
        {"mish", 0.6, -0.0933931, 1.02111, 1.00013, NAN},
        {"softplus(beta=1,threshold=20)", 0.5, 0.0474259, 0.952574, 0.997527, NAN},
        {"hardswish", 0.5, -0.5, 1, 1, 1},
    };
    for (const auto &row : rows) {
        auto got = derivative_at(parse_activation(row.act), {0.0f, -3.0f, 3.0f, 6.0f, NAN});
        const double want[] = {row.at0, row.atm3, row.at3, row.at6, row.atnan};
        for (int p = 0; p < 5; p++) {
            INFO(row.act << " point " << p << " got " << got[size_t(p)] << " want " << want[p]);
            if (std::isnan(want[p])) {
                CHECK(std::isnan(got[size_t(p)]));
            } else {
                // The table has six significant digits.
                CHECK(std::abs(got[size_t(p)] - want[p]) <= 5e-5 * std::abs(want[p]) + 1e-6);
            }
        }
    }
}

TEST_CASE("non-finite inputs follow the formulas with IEEE arithmetic", "[points]") {
    const float inf = INFINITY;
    struct Case {
        const char *act;
        float z, want;  // NaN means "is NaN"
    };
    const Case cases_[] = {
        {"gelu(approximate=none)", -inf, NAN}, {"gelu(approximate=tanh)", -inf, NAN},
        {"silu", -inf, NAN},                   {"mish", -inf, NAN},
        {"hardswish", -inf, NAN},              {"elu(alpha=1)", -inf, -1.0f},
        {"elu(alpha=0.5)", -inf, -0.5f},       {"relu", -inf, 0.0f},
        {"relu", NAN, NAN},                    {"relu6", NAN, NAN},
        {"relu6", inf, 6.0f},                  {"leaky_relu(slope=0.01)", NAN, NAN},
        {"gelu(approximate=none)", inf, inf},  {"silu", inf, inf},
        {"softplus(beta=1,threshold=20)", inf, inf}, {"selu", -inf, float(-1.0507009873554805 * 1.6732632423543772)},
    };
    for (const auto &c : cases_) {
        const float got = value_at(parse_activation(c.act), {c.z})[0];
        INFO(c.act << "(" << c.z << ") = " << got);
        if (std::isnan(c.want)) {
            CHECK(std::isnan(got));
        } else {
            CHECK(got == Approx(c.want).epsilon(1e-6));
        }
    }
}

// The piecewise-linear activations sort z by its bits: a NaN with the sign bit set (x86's default
// NaN, from 0 · inf or inf - inf) must land with the other NaNs, and -0, -inf and negative
// subnormals below the kink.
TEST_CASE("the piecewise-linear activations at NaN of either sign, signed zeros, infinities and subnormals", "[points]") {
    const float inf = INFINITY, nan = NAN, negative_nan = std::copysign(NAN, -1.0f), tiny = 1e-40f;
    const std::vector<float> z{nan, negative_nan, 0.0f, -0.0f, inf, -inf, tiny, -tiny, 2.5f, -2.5f};
    struct Case {
        const char *act;
        float slope;       // act' below the kink (relu: 0, and act = 0 there); prelu runs with 0.25
        float at_nan_dz;   // act'(NaN) in the table
    };
    for (const Case c : {Case{"relu", 0.0f, 1.0f}, Case{"leaky_relu(slope=0.01)", 0.01f, 0.01f},
                         Case{"prelu(slopes=shared)", 0.25f, 0.25f}}) {
        const Activation act = parse_activation(c.act);
        const auto y = value_at(act, z), dz = derivative_at(act, z);
        for (size_t p = 0; p < z.size(); p++) {
            INFO(c.act << "(" << z[p] << ") = " << y[p] << ", act' = " << dz[p]);
            if (std::isnan(z[p])) {
                CHECK(std::isnan(y[p]));
                CHECK(dz[p] == c.at_nan_dz);
                continue;
            }
            const bool above = z[p] > 0.0f;
            const float want_y = above ? z[p] : c.slope == 0.0f ? 0.0f : c.slope * z[p];  // relu(-inf) = 0
            CHECK(y[p] == want_y);  // ±0 compare equal: signed zeros are not part of the contract
            CHECK(std::isinf(y[p]) == std::isinf(want_y));
            CHECK(dz[p] == (above ? 1.0f : c.slope));
        }
    }
}

// The elus take z (selu λz) and a constant act' where z > 0 or NaN, decided on z's bits likewise.
TEST_CASE("the elus at NaN of either sign, signed zeros and infinities", "[points]") {
    const float inf = INFINITY;
    const std::vector<float> z{NAN, std::copysign(NAN, -1.0f), 0.0f, -0.0f, inf, -inf};
    const float lambda = 1.0507009873554805f, selu_alpha = 1.6732632423543772f;
    struct Case {
        const char *act;
        float scale, at_minus_inf, at_zero_dz;  // act = scale·z above the kink; act(-inf); act'(±0)
    };
    for (const Case c : {Case{"elu(alpha=1)", 1.0f, -1.0f, 1.0f}, Case{"elu(alpha=0.5)", 1.0f, -0.5f, 0.5f},
                         Case{"selu", lambda, -lambda * selu_alpha, lambda * selu_alpha},
                         Case{"celu(alpha=2)", 1.0f, -2.0f, 1.0f}}) {
        const Activation act = parse_activation(c.act);
        const auto y = value_at(act, z), dz = derivative_at(act, z);
        for (size_t p = 0; p < z.size(); p++) {
            INFO(c.act << "(" << z[p] << ") = " << y[p] << ", act' = " << dz[p]);
            if (std::isnan(z[p])) {
                CHECK(std::isnan(y[p]));
                CHECK(dz[p] == c.scale);  // the table's act'(NaN)
            } else if (z[p] == 0.0f) {
                CHECK(y[p] == 0.0f);
                CHECK(dz[p] == Approx(c.at_zero_dz).epsilon(1e-6));
            } else if (z[p] > 0.0f) {
                CHECK(y[p] == inf);
                CHECK(dz[p] == c.scale);
            } else {
                CHECK(y[p] == Approx(c.at_minus_inf).epsilon(1e-6));
                CHECK(dz[p] == 0.0f);
            }
        }
    }
}
