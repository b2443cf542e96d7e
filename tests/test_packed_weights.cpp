// pack_weights: the packed format element by element, and the errors it and the packed layout's
// spec and layer give for what they cannot take.
#include "reluforge/reluforge.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

using namespace reluforge;

namespace {

// W(k, n) of a [K,N] test matrix: distinct for every element.
float w_at(std::int64_t k, std::int64_t n) { return float(k * 1000 + n + 1); }

// Element (p, 16k + c) of the packed format, as packed_weights.h states it.
void check_packed(const std::vector<float> &packed, std::int64_t K, std::int64_t N, std::int64_t ld) {
    for (std::int64_t p = 0; p < (N + 15) / 16; p++) {
        for (std::int64_t k = 0; k < K; k++) {
            for (std::int64_t c = 0; c < 16; c++) {
                const float got = packed[size_t(p * ld + 16 * k + c)];
                const float want = 16 * p + c < N ? w_at(k, 16 * p + c) : 0.0f;
                if (got != want) FAIL("panel " << p << " k " << k << " c " << c << ": got " << got << " want " << want);
            }
        }
    }
}

}  // namespace

TEST_CASE("pack_weights writes panels of 16 columns, padded with zeros", "[packed]") {
    for (const auto &[K, N] : {std::pair<std::int64_t, std::int64_t>{1, 1}, {5, 37}, {3, 16}, {7, 48}, {2, 17}}) {
        INFO(K << "x" << N);
        const std::int64_t ld = N + 3;  // a row stride past the columns
        std::vector<float> kn(size_t(K * ld), -1.0f), nk(size_t(N * K));
        for (std::int64_t k = 0; k < K; k++) {
            for (std::int64_t n = 0; n < N; n++) {
                kn[size_t(k * ld + n)] = w_at(k, n);
                nk[size_t(n * K + k)] = w_at(k, n);
            }
        }
        const std::int64_t rows = packed_weight_rows(N), cols = packed_weight_cols(K);
        CHECK(rows == (N + 15) / 16);
        CHECK(cols == 16 * K);
        std::vector<float> packed(size_t(rows * (cols + 5)), -2.0f);
        pack_weights(Tensor::matrix(kn.data(), K, N, ld), WeightLayout::kn, Tensor::matrix(packed.data(), rows, cols, cols + 5));
        check_packed(packed, K, N, cols + 5);
        CHECK(packed[size_t(cols)] == -2.0f);  // past a packed row: untouched
        std::vector<float> from_nk(size_t(rows * cols), -2.0f);
        pack_weights(Tensor::matrix(nk.data(), N, K), WeightLayout::nk, Tensor::matrix(from_nk.data(), rows, cols));
        check_packed(from_nk, K, N, cols);
        const PackedWeights owned(Tensor::matrix(nk.data(), N, K), WeightLayout::nk);
        CHECK(owned.k() == K);
        CHECK(owned.n() == N);
        const Tensor t = owned.tensor();
        REQUIRE(t.shape[0] == rows);
        REQUIRE(t.shape[1] == cols);
        CHECK(reinterpret_cast<std::uintptr_t>(t.data) % 64 == 0);
        CHECK(std::memcmp(t.data, from_nk.data(), from_nk.size() * sizeof(float)) == 0);
    }
}

TEST_CASE("pack_weights packs f16 bits as they are", "[packed]") {
    std::vector<std::uint16_t> w(3 * 20), packed(2 * 48, 0xffff);
    for (size_t k = 0; k < w.size(); k++) w[k] = std::uint16_t(0x3c00 + k);
    pack_weights(Tensor::matrix(w.data(), DType::f16, 3, 20), WeightLayout::kn, Tensor::matrix(packed.data(), DType::f16, 2, 48));
    CHECK(packed[16 * 2 + 5] == w[2 * 20 + 5]);   // panel 0, k 2, column 5
    CHECK(packed[48 + 16 * 1 + 3] == w[1 * 20 + 19]);  // panel 1, k 1, column 19
    CHECK(packed[48 + 16 * 1 + 4] == 0);             // column 20: padding
}

TEST_CASE("pack_weights refuses what it cannot pack, writing nothing", "[packed]") {
    std::vector<float> w(4 * 20, 1.0f), packed(2 * 64 + 16, 7.0f);
    const Tensor kn = Tensor::matrix(w.data(), 4, 20), out = Tensor::matrix(packed.data(), 2, 64);
    auto expect = [&](const Tensor &from, WeightLayout layout, const Tensor &to, ErrorCode code, const char *text) {
        try {
            pack_weights(from, layout, to);
            FAIL("no error: " << text);
        } catch (const Error &e) {
            CHECK(e.code() == code);
            CHECK_THAT(e.what(), Catch::Contains(text));
        }
        CHECK(std::all_of(packed.begin(), packed.end(), [](float v) { return v == 7.0f; }));
    };
    expect(kn, WeightLayout::kn, Tensor::matrix(packed.data(), 2, 80), ErrorCode::shape_mismatch,
           "packed is [2,80] but a kn w of K = 4, N = 20 packs into [ceil(N/16),16K] = [2,64]");
    expect(kn, WeightLayout::nk, out, ErrorCode::shape_mismatch, "a nk w of K = 20, N = 4 packs into");
    expect(kn, WeightLayout::packed, out, ErrorCode::bad_argument, "not packed");
    expect(Tensor::vector(w.data(), 80), WeightLayout::kn, out, ErrorCode::shape_mismatch, "w has rank 1");
    expect(Tensor::matrix(static_cast<float *>(nullptr), 4, 20), WeightLayout::kn, out, ErrorCode::null_data, "null data");
    expect(kn.on(Device::cuda), WeightLayout::kn, out, ErrorCode::wrong_device, "host memory");
    expect(Tensor::matrix(w.data(), DType::f16, 4, 20), WeightLayout::kn, out, ErrorCode::bad_dtype, "packed has dtype f32 but w has f16");
    expect(Tensor::matrix(w.data(), 2, 20, 10), WeightLayout::kn, out, ErrorCode::bad_layout, "rows must be contiguous");
    expect(Tensor::matrix(packed.data() + 8, 4, 20), WeightLayout::kn, out, ErrorCode::aliasing, "packed overlaps w");
    CHECK_THROWS_WITH(PackedWeights(Tensor::matrix(w.data(), DType::f16, 4, 20), WeightLayout::kn), Catch::Contains("PackedWeights holds f32"));
}

TEST_CASE("weight=packed is a forward layout", "[packed][spec]") {
    const KernelSpec spec = parse_spec("forward:relu:weight=packed");
    CHECK(spec.weight == WeightLayout::packed);
    CHECK(to_string(spec) == "forward:relu:bias=1:weight=packed:save=none:counts=0:dtype=f32");
    CHECK(parse_spec(to_string(spec)) == spec);
    CHECK_THROWS_WITH(parse_spec("backward_data:identity:weight=packed"),
                      Catch::Contains("weight=packed is for forward kernels; backward_data reads W as weight=kn or weight=nk"));
    CHECK_THROWS_WITH(parse_spec("backward_weight:weight=packed"), Catch::Contains("weight=packed is for forward kernels"));
    const Linear layer(parse_activation("relu"), true, WeightLayout::packed);
    REQUIRE(layer.kernel_specs().size() == 1);
    CHECK(layer.kernel_specs()[0].op == Op::forward);
    std::vector<float> dy(4, 1.0f), dx(4);
    BackwardArgs a;
    a.dy = Tensor::matrix(dy.data(), 2, 2);
    a.dx = Tensor::matrix(dx.data(), 2, 2);
    try {
        layer.backward(a);
        FAIL("no error");
    } catch (const Error &e) {
        CHECK(e.code() == ErrorCode::bad_argument);
        CHECK_THAT(e.what(), Catch::Contains("only forward kernels read"));
    }
    for (Device device : {Device::cuda, Device::opencl}) {
        CHECK_THROWS_WITH(find_kernel(spec, {}, device), Catch::Contains("weight=packed kernels run on the CPU"));
    }
    CHECK_THROWS_WITH(validate_for_gpu(spec), Catch::Contains("weight=packed kernels run on the CPU"));
    CHECK_NOTHROW(validate_for_gpu(parse_spec("forward:relu:weight=kn")));
    CHECK_THROWS_WITH(validate_for_gpu(KernelSpec{Op::forward, Activation{Act::gelu}, true, WeightLayout::kn, Save::mask}),
                      Catch::Contains("save=mask"));  // and every rule validate has
    const std::vector<ArgSlot> slots = kernel_signature(spec);
    CHECK(shape_text(slots.at(1)) == "[ceil(N/16),16K]");
}
