// Finite-difference gradient checks: the backward kernels are the derivative of the forward
// kernel, for the smooth activations (central differences across a kink would be meaningless).
#include "support/cases.h"

#include "reluforge/reluforge.h"
#include "reference/reference.h"

#include <catch2/catch.hpp>

#include <cmath>

using namespace reluforge;

namespace {

constexpr int M = 4, K = 6, N = 5;

struct Net {
    Linear layer;
    ref::Mat x{M, K}, w{K, N}, b{1, N}, g{M, N};
    float slope = 0.2f;
    bool prelu() const { return layer.activation().kind == Act::prelu; }

    // L = Σ G ⊙ Y, summed in double from the forward kernel's Y.
    double loss() {
        ref::Mat y(M, N);
        ForwardArgs a;
        a.x = Tensor::matrix(x.v.data(), M, K);
        a.w = Tensor::matrix(w.v.data(), K, N);
        a.b = Tensor::vector(b.v.data(), N);
        if (prelu()) a.slope = Tensor::vector(&slope, 1);
        a.y = Tensor::matrix(y.v.data(), M, N);
        layer.forward(a);
        double l = 0;
        for (size_t k = 0; k < y.v.size(); k++) l += double(g.v[k]) * y.v[k];
        return l;
    }
};

double central_difference(Net &net, float &param) {
    const float saved = param, h = 1e-2f;
    param = saved + h;
    const double up = net.loss();
    param = saved - h;
    const double down = net.loss();
    param = saved;
    return (up - down) / (2.0 * double(h));
}

}  // namespace

TEST_CASE("backward equals finite differences of forward", "[gradcheck]") {
    for (const char *text : {"elu(alpha=1)", "selu", "celu(alpha=2)", "gelu(approximate=none)",
                             "gelu(approximate=tanh)", "silu", "mish", "softplus(beta=1,threshold=20)",
                             "softplus(beta=2,threshold=10)", "prelu(slopes=shared)", "identity"}) {
        const Activation act = parse_activation(text);
        Net net{Linear(act, true, WeightLayout::kn)};
        ref::fill_uniform(net.x, 11);
        ref::fill_uniform(net.w, 12);
        ref::fill_uniform(net.b, 13);
        ref::fill_uniform(net.g, 14);

        // Analytic gradients: forward saving Z, then backward with dY = G.
        ref::Mat y(M, N), z(M, N), dx(M, K), dw(K, N), db(1, N);
        float dslope = 0;
        ForwardArgs f;
        f.x = Tensor::matrix(net.x.v.data(), M, K);
        f.w = Tensor::matrix(net.w.v.data(), K, N);
        f.b = Tensor::vector(net.b.v.data(), N);
        if (net.prelu()) f.slope = Tensor::vector(&net.slope, 1);
        f.y = Tensor::matrix(y.v.data(), M, N);
        if (net.layer.save() == Save::z) f.aux = Tensor::matrix(z.v.data(), M, N);
        net.layer.forward(f);
        BackwardArgs bw;
        bw.dy = Tensor::matrix(net.g.v.data(), M, N);
        bw.aux = f.aux;
        bw.x = f.x;
        bw.w = f.w;
        bw.slope = f.slope;
        bw.dx = Tensor::matrix(dx.v.data(), M, K);
        bw.dw = Tensor::matrix(dw.v.data(), K, N);
        bw.db = Tensor::vector(db.v.data(), N);
        if (net.prelu()) bw.dslope = Tensor::vector(&dslope, 1);
        net.layer.backward(bw);

        auto near = [](double fd, double an) { return std::abs(fd - an) <= 2e-3 + 1e-2 * std::abs(an); };
        int bad = 0;
        std::string report;
        auto check = [&](const char *what, int idx, double fd, double an) {
            if (!near(fd, an) && ++bad <= 3) {
                report += std::string(what) + "[" + std::to_string(idx) + "] fd " + std::to_string(fd) +
                          " analytic " + std::to_string(an) + "\n";
            }
        };
        if (net.prelu()) {
            check("dslope", 0, central_difference(net, net.slope), dslope);
        } else {
            for (int k = 0; k < M * K; k++) check("dx", k, central_difference(net, net.x.v[size_t(k)]), dx.v[size_t(k)]);
            for (int k = 0; k < K * N; k++) check("dw", k, central_difference(net, net.w.v[size_t(k)]), dw.v[size_t(k)]);
            for (int k = 0; k < N; k++) check("db", k, central_difference(net, net.b.v[size_t(k)]), db.v[size_t(k)]);
        }
        INFO(text << "\n" << report);
        CHECK(bad == 0);
    }
}
