// The chained backward-data kernel: dZ of the previous layer = (dZ·Wᵀ) ⊙ act'(aux), with that
// layer's db and PReLU slope gradient, for the whole family.
#include "support/harness.h"

#include <catch2/catch.hpp>

TEST_CASE("chained backward matches the reference for every previous activation", "[chained]") {
    unsigned seed = 500;
    for (const auto &act : cases::activations()) {
        for (const auto &prev : cases::layers(act)) {
            for (const auto &shape : cases::shapes()) {
                for (bool specials : {false, true}) {
                    auto cmp = cases::check_chained(prev, shape, seed++, specials);
                    INFO("previous layer " << cases::describe(prev) << " M,K,N=" << shape.M << ","
                                           << shape.K << "," << shape.N
                                           << (specials ? " with NaN/Inf rows" : ""));
                    INFO(cmp.report);
                    CHECK(cmp.checked > 0);
                    CHECK(cmp.failed == 0);
                }
            }
        }
    }
}
