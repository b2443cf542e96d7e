// Forward kernels over packed weights (weight=packed, packed_weights.h), JIT-compiled: against
// the double-precision reference, bit for bit against the same layer over a [K,N] W, on every
// x86 ISA, and with their shapes checked against the packed W.
#include "jit_test_support.h"
#include "reluforge/jit/engine.h"
#include "reluforge/reluforge.h"
#include "reluforge/schedules/default_table.h"
#include "support/harness.h"
#include "support/relu_check.h"

#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <cstring>
#include <vector>

using namespace reluforge;
using jit_test::fresh_dir;
using jit_test::IsaLimit;
using jit_test::quiet_options;

namespace {

// cases::shapes() has N off the panel width; these have N a multiple of 16 (the kernels' whole
// panels), over the small-batch (M <= 5), shallow (K <= 64), one-vector and full-tile tiers.
std::vector<cases::Shape> packed_shapes() {
    auto shapes = cases::shapes();
    for (cases::Shape s : {cases::Shape{3, 40, 32}, {7, 33, 64}, {65, 66, 96}, {130, 20, 48}, {9, 70, 16}, {1, 130, 80}}) {
        shapes.push_back(s);
    }
    return shapes;
}

// Y of layer over W (kn) or its packed copy, on data fixed by the shape.
std::vector<float> forward_y(const Linear &layer, cases::Shape s) {
    std::vector<float> x(size_t(s.M) * s.K), w(size_t(s.K) * s.N), b(size_t(s.N)), y(size_t(s.M) * s.N);
    for (size_t k = 0; k < x.size(); k++) x[k] = float(int(k * 37 % 101) - 50) / 32.0f;
    for (size_t k = 0; k < w.size(); k++) w[k] = float(int(k * 53 % 89) - 44) / 64.0f;
    for (size_t k = 0; k < b.size(); k++) b[k] = float(int(k % 7) - 3) / 8.0f;
    ForwardArgs a;
    a.x = Tensor::matrix(x.data(), s.M, s.K);
    a.w = Tensor::matrix(w.data(), s.K, s.N);
    a.b = Tensor::vector(b.data(), s.N);
    a.y = Tensor::matrix(y.data(), s.M, s.N);
    if (layer.weight_layout() != WeightLayout::packed) {
        layer.forward(a);
        return y;
    }
    const PackedWeights packed(a.w, WeightLayout::kn);
    a.w = packed.tensor();
    layer.forward(a);
    return y;
}

}  // namespace

TEST_CASE("forward over packed weights matches the reference", "[jit][packed]") {
    jit::enable(quiet_options(fresh_dir("packed-reference")));
    // Y alone and Y with the bit mask (relu); Z as a second output (elu); gelu's long epilogue; a
    // per-column slope; no bias.
    const Linear layers[] = {Linear(parse_activation("relu"), true, WeightLayout::packed),
                             Linear(parse_activation("elu(alpha=0.5)"), true, WeightLayout::packed, Save::z),
                             Linear(parse_activation("gelu"), false, WeightLayout::packed),
                             Linear(parse_activation("prelu(slopes=per_column)"), true, WeightLayout::packed, Save::z)};
    for (const Linear &layer : layers) {
        for (const cases::Shape &s : packed_shapes()) {
            for (bool specials : {false, true}) {
                const auto result = cases::check_forward(layer, s, 11, specials);
                INFO(cases::describe(layer) << " " << s.M << "x" << s.K << "x" << s.N << (specials ? " with NaN/Inf rows" : ""));
                INFO(result.report);
                CHECK(result.checked > 0);
                CHECK(result.failed == 0);
            }
        }
    }
}

TEST_CASE("forward over packed weights gives the bits of forward over [K,N] weights, on every ISA", "[jit][packed]") {
    jit::enable(quiet_options(fresh_dir("packed-bits")));
    for (Isa isa : {Isa::avx512, Isa::avx2, Isa::sse41}) {
        if (isa > host_isa()) continue;
        IsaLimit limit(isa);
        for (const char *act : {"relu", "silu"}) {
            if (isa != Isa::avx512 && std::strcmp(act, "relu") != 0) continue;  // JIT time: one per ISA
            const Linear plain(parse_activation(act), true, WeightLayout::kn);
            const Linear packed(parse_activation(act), true, WeightLayout::packed);
            for (const cases::Shape &s : packed_shapes()) {
                const auto want = forward_y(plain, s), got = forward_y(packed, s);
                INFO(to_string(isa) << " " << act << " " << s.M << "x" << s.K << "x" << s.N);
                CHECK(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)) == 0);
            }
        }
    }
}

TEST_CASE("packed weights read in place with the reduction in chunks per task compute right, bit for bit", "[jit][packed]") {
    // The form of Zen 5's entry for K >= 4096 at test sizes: one 16-column panel per block, 6-row
    // blocks in tasks of 12 rows, the reduction in chunks of 16 (K = 50 and 70 end in a partial
    // chunk), against the double reference and bit for bit against the whole reduction.
    jit::Engine engine(quiet_options(fresh_dir("packed-chunks")));
    const KernelSpec spec = parse_spec("forward:relu:bias=1:weight=packed");
    const int vectors = host_isa() == Isa::avx512 ? 1 : 2;  // a panel of 16 columns
    const KernelHandle chunked = engine.get_scheduled(spec, host_isa(), {vectors, 6, 12, 16, false, false, sched::OperandRead::direct, true, 16});
    const KernelHandle whole = engine.get_scheduled(spec, host_isa(), {vectors, 6, 12, 16, false, false, sched::OperandRead::direct});
    for (const auto &[M, K, N] : {std::array{13, 50, 48}, std::array{40, 70, 32}, std::array{130, 40, 80}, std::array{6, 16, 16}}) {
        INFO(M << "x" << K << "x" << N);
        ref::Mat x(M, K), w(K, N), b(1, N), y(M, N, -1), y_whole(M, N, -1);
        ref::fill_uniform(x, unsigned(M));
        ref::fill_uniform(w, unsigned(M) + 1);
        ref::fill_uniform(b, unsigned(M) + 2);
        const PackedWeights packed(Tensor::matrix(w.v.data(), K, N), WeightLayout::kn);
        for (auto [kernel, out] : {std::pair{&chunked, &y}, std::pair{&whole, &y_whole}}) {
            run_kernel(*kernel, {Tensor::matrix(x.v.data(), M, K), packed.tensor(), Tensor::vector(b.v.data(), N),
                                 Tensor::matrix(out->v.data(), M, N)});
        }
        CHECK(cases::wrong_relu_outputs(x, w, b, y) == 0);
        CHECK(std::memcmp(y.v.data(), y_whole.v.data(), y.v.size() * sizeof(float)) == 0);
    }
}

TEST_CASE("a packed weight must fit the call's K and N", "[jit][packed]") {
    jit::enable(quiet_options(fresh_dir("packed-shapes")));
    const int M = 4, K = 20, N = 40;
    std::vector<float> x(M * K, 1.0f), w(K * N, 0.5f), y(M * (N + 16));
    const PackedWeights packed(Tensor::matrix(w.data(), K, N), WeightLayout::kn);
    const KernelSpec spec = parse_spec("forward:relu:bias=0:weight=packed");
    // N = 40 packs into 3 panels; 56 columns would need 4, 32 only 2.
    for (int n : {56, 32}) {
        INFO(n);
        CHECK_THROWS_WITH(run_kernel(spec, {Tensor::matrix(x.data(), M, K), packed.tensor(), Tensor::matrix(y.data(), M, n)}),
                          Catch::Contains("argument 'y'") && Catch::Contains("packs into ceil(N/16)") &&
                              Catch::Contains("the packed weight has 3"));
    }
    // 33..48 columns fit 3 panels: the kernel computes those and leaves the padding alone.
    CHECK_NOTHROW(run_kernel(spec, {Tensor::matrix(x.data(), M, K), packed.tensor(), Tensor::matrix(y.data(), M, 33)}));
    CHECK(y[0] == 10.0f);
    CHECK_THROWS_WITH(run_kernel(spec, {Tensor::matrix(x.data(), M, K - 1), packed.tensor(), Tensor::matrix(y.data(), M, N)}),
                      Catch::Contains("argument 'w'") && Catch::Contains("must be [ceil(N/16),16K]"));
}

TEST_CASE("packed weights' default schedules read them in place, in blocks of 4 rows for a few rows but 6", "[jit][packed]") {
    const KernelSpec spec = parse_spec("forward:relu:weight=packed");
    for (Isa isa : {Isa::avx512, Isa::avx2}) {
        for (const auto &[rows, block_rows] : {std::pair{1, 4}, {5, 4}, {6, 6}, {7, 4}, {8, 4}, {9, 6}, {1000, 6}}) {
            const sched::CpuSchedule s = sched::default_cpu_schedule(spec, isa, Shape{rows, 1024, 1024});
            INFO(to_string(isa) << " " << rows << " rows: " << to_string(s));
            CHECK(s.block_rows == block_rows);
            CHECK(s.operand == sched::OperandRead::direct);
        }
    }
}
