// ISA variants: every library carries avx512, avx2 and sse41 kernels; the runtime picks the best
// this CPU runs, can be capped, and every variant the CPU runs is correct. Thread-count control.
#include "support/harness.h"

#include "reluforge/reluforge.h"

#include <catch2/catch.hpp>

#include <cstring>

using namespace reluforge;

namespace {
struct IsaLimit {
    explicit IsaLimit(Isa isa) { set_isa_limit(isa); }
    ~IsaLimit() { set_isa_limit(Isa::avx512); }
};
}  // namespace

TEST_CASE("the best variant for this CPU is chosen, and a cap lowers it", "[dispatch]") {
    const KernelSpec spec = parse_spec("forward:relu:save=mask");
    CHECK(registered_isas(spec) == std::vector<Isa>{Isa::sse41, Isa::avx2, Isa::avx512});
    WARN("this CPU runs " << to_string(host_isa()) << " kernels");
    CHECK(find_kernel(spec).isa == host_isa());
    for (Isa isa : {Isa::sse41, Isa::avx2, Isa::avx512}) {
        if (isa > host_isa()) continue;
        IsaLimit limit(isa);
        CHECK(find_kernel(spec).isa == isa);
    }
}

TEST_CASE("every variant this CPU runs matches the reference", "[dispatch]") {
    unsigned seed = 900;
    for (Isa isa : {Isa::sse41, Isa::avx2}) {
        if (isa > host_isa()) continue;
        IsaLimit limit(isa);
        for (const char *text : {"relu", "gelu(approximate=tanh)", "prelu(slopes=per_column)", "elu(alpha=0.5)"}) {
            for (const auto &layer : cases::layers(parse_activation(text))) {
                for (const auto &shape : cases::shapes()) {
                    INFO(to_string(isa) << " " << cases::describe(layer) << " M,K,N=" << shape.M << ","
                                        << shape.K << "," << shape.N);
                    auto f = cases::check_forward(layer, shape, seed++, true);
                    INFO(f.report);
                    CHECK(f.failed == 0);
                    auto b = cases::check_backward(layer, shape, seed++, false);
                    INFO(b.report);
                    CHECK(b.failed == 0);
                    auto c = cases::check_chained(layer, shape, seed++, false);
                    INFO(c.report);
                    CHECK(c.failed == 0);
                }
            }
        }
    }
}

TEST_CASE("the thread count is set and changes nothing in the results", "[dispatch]") {
    const int M = 300, K = 70, N = 130;
    std::vector<float> x(M * K), w(K * N), b(N), y1(M * N), y2(M * N);
    for (size_t k = 0; k < x.size(); k++) x[k] = float(k % 17) * 0.1f - 0.8f;
    for (size_t k = 0; k < w.size(); k++) w[k] = float(k % 13) * 0.1f - 0.6f;
    Linear layer(parse_activation("gelu"), true, WeightLayout::kn);
    auto run = [&](std::vector<float> &y) {
        ForwardArgs a;
        a.x = Tensor::matrix(x.data(), M, K);
        a.w = Tensor::matrix(w.data(), K, N);
        a.b = Tensor::vector(b.data(), N);
        a.y = Tensor::matrix(y.data(), M, N);
        layer.forward(a);
    };
    set_num_threads(1);
    CHECK(num_threads() == 1);
    run(y1);
    set_num_threads(2);
    CHECK(num_threads() == 2);
    run(y2);
    CHECK(std::memcmp(y1.data(), y2.data(), y1.size() * sizeof(float)) == 0);
    set_num_threads(0);
}
