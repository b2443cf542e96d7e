// f16 storage (matrices in IEEE half, accumulation and bias in f32) against the same reference as
// f32, through the JIT on the CPU: the algorithm every f16 CUDA kernel shares, checked here
// without a GPU. Every kernel runs its shape-independent variant, to compile each spec once.
#include "jit_test_support.h"
#include "support/harness.h"
#include "support/placement.h"

#include "reluforge/detail/variants.h"
#include "reluforge/reluforge.h"

#include <catch2/catch.hpp>

using namespace reluforge;

namespace {

struct F16OnCpu {
    F16OnCpu() {
        jit::enable(jit_test::quiet_options(jit_test::fresh_dir("f16")));
        cases::set_placement({Device::cpu, DType::f16});
        force_shape_rule("");
    }
    ~F16OnCpu() {
        force_shape_rule(std::nullopt);
        cases::set_placement({});
    }
};

}  // namespace

TEST_CASE("f16 conversions of the test harness round to nearest even", "[f16]") {
    using cases::from_half;
    using cases::to_half;
    CHECK(to_half(1.0f) == 0x3c00);
    CHECK(to_half(-2.0f) == 0xc000);
    CHECK(to_half(65504.0f) == 0x7bff);
    CHECK(to_half(65520.0f) == 0x7c00);
    CHECK(to_half(1.0f + 0x1p-11f) == 0x3c00);           // a tie rounds to even
    CHECK(to_half(1.0f + 3 * 0x1p-11f) == 0x3c02);       // a tie rounds to even
    CHECK(to_half(0x1p-24f) == 0x0001);                  // the smallest subnormal
    CHECK(to_half(0x1p-14f) == 0x0400);                  // the smallest normal
    CHECK(to_half(3 * 0x1p-26f) == 0x0001);              // subnormals round to even too (0.75 ulp)
    CHECK(from_half(0x7bff) == 65504.0f);
    CHECK(from_half(0x0001) == 0x1p-24f);
    CHECK(std::isnan(from_half(to_half(NAN))));
    CHECK(from_half(to_half(-INFINITY)) == -INFINITY);
    for (float f : {0.1f, -3.14159f, 1e-3f, 1000.5f}) CHECK(std::abs(from_half(to_half(f)) - f) <= std::abs(f) * 0x1p-11f);
}

TEST_CASE("f16 storage: forward matches the reference", "[f16]") {
    F16OnCpu on;
    cases::for_each_case("f16 forward", 101, cases::check_forward);
}

TEST_CASE("f16 storage: backward matches the reference", "[f16]") {
    F16OnCpu on;
    cases::for_each_case("f16 backward", 201, cases::check_backward);
}

TEST_CASE("f16 storage: chained backward matches the reference", "[f16]") {
    F16OnCpu on;
    cases::for_each_case("f16 chained backward", 301, cases::check_chained);
}

