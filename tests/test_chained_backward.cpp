// The chained backward-data kernel: dZ of the previous layer = (dZ·Wᵀ) ⊙ act'(aux), with that
// layer's db and PReLU slope gradient, for the whole family.
#include "support/harness.h"

#include <catch2/catch.hpp>

TEST_CASE("chained backward matches the reference for every previous activation", "[chained]") {
    cases::for_each_case("previous layer", 500, cases::check_chained);
}
