// Forward of every activation and layer configuration against the reference, through the public
// API: Y, the saved Z or bit mask, and the dead-unit counts; finite data and NaN/±Inf rows.
#include "support/harness.h"

#include <catch2/catch.hpp>

using namespace reluforge;

TEST_CASE("forward matches the reference for every activation, layout and shape", "[forward]") {
    cases::for_each_case("forward", 1, cases::check_forward);
}

TEST_CASE("piecewise-linear activations are bit-exact on exactly representable inputs", "[forward]") {
    // K = 1 and weights that are powers of two make Z = x * w exact in float.
    const int M = 37, N = 21;
    std::vector<float> x(M), w(N), y(size_t(M) * N);
    for (int m = 0; m < M; m++) x[size_t(m)] = (m - 18) * 0.37f;
    x[0] = 0.0f;
    x[1] = 6.0f / 4;
    x[2] = -3.0f;
    for (int n = 0; n < N; n++) w[size_t(n)] = std::ldexp(n % 2 ? -1.0f : 1.0f, n % 5 - 2);
    for (const char *text : {"relu", "leaky_relu(slope=0.01)", "relu6", "identity", "prelu(slopes=shared)"}) {
        const Activation act = parse_activation(text);
        // Layer B of cases::layers: no bias, weight [N,K] (here [N,1], the same memory as [1,N]).
        Linear layer(act, false, WeightLayout::nk, act.kind == Act::identity ? Save::none : Save::z);
        float slope = 0.25f;
        ForwardArgs a;
        a.x = Tensor::matrix(x.data(), M, 1);
        a.w = Tensor::matrix(w.data(), N, 1);
        if (act.kind == Act::prelu) a.slope = Tensor::vector(&slope, 1);
        a.y = Tensor::matrix(y.data(), M, N);
        layer.forward(a);
        cases::Comparison cmp;
        for (int m = 0; m < M; m++) {
            for (int n = 0; n < N; n++) {
                const float z = x[size_t(m)] * w[size_t(n)];
                cmp.exact(y[size_t(m * N + n)], float(ref::act(act, z, slope)), text);
            }
        }
        INFO(cmp.report);
        CHECK(cmp.failed == 0);
    }
}
