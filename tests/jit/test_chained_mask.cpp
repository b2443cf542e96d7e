// The chained backward-data kernel over a bit mask where the previous layer's K is a multiple of
// 16: its CPU tiers read the mask one 16-bit word per vector rather than a byte per lane
// (algorithm.cpp, derivative_from_aux). cases::shapes() has no such K; these shapes cover one
// panel, a panel and a shifted-in tail, several panels, the one-vector and narrow tiers, and K
// off 16 beside them. Against the double-precision reference, on every x86 ISA, both layouts.
#include "jit_test_support.h"
#include "reluforge/reluforge.h"
#include "support/harness.h"

#include <catch2/catch.hpp>

using namespace reluforge;
using jit_test::fresh_dir;
using jit_test::IsaLimit;
using jit_test::quiet_options;

TEST_CASE("chained backward from a bit mask over K a multiple of 16 matches the reference, on every ISA",
          "[jit][chained][mask]") {
    jit::enable(quiet_options(fresh_dir("chained-mask")));
    const cases::Shape shapes[] = {{1, 16, 3},   {7, 16, 5},    {13, 48, 10}, {25, 80, 33}, {64, 128, 10},
                                   {31, 144, 64}, {100, 32, 70}, {6, 64, 1},   {9, 100, 10}, {19, 24, 7}};
    const Linear layers[] = {Linear(parse_activation("relu"), true, WeightLayout::kn, Save::mask),
                             Linear(parse_activation("leaky_relu(slope=0.01)"), true, WeightLayout::nk, Save::mask),
                             Linear(parse_activation("relu6"), false, WeightLayout::kn, Save::mask)};
    unsigned seed = 900;
    for (Isa isa : {Isa::avx512, Isa::avx2, Isa::sse41}) {
        if (isa > host_isa()) continue;
        IsaLimit limit(isa);
        for (const Linear &prev : layers) {
            for (const cases::Shape &s : shapes) {
                for (bool specials : {false, true}) {
                    const auto result = cases::check_chained(prev, s, seed++, specials);
                    INFO(to_string(isa) << " " << cases::describe(prev) << " M,K,N=" << s.M << "," << s.K << "," << s.N
                                        << (specials ? " with NaN/Inf rows" : ""));
                    INFO(result.report);
                    CHECK(result.checked > 0);
                    CHECK(result.failed == 0);
                }
            }
        }
    }
}
