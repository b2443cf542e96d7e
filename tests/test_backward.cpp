// Backward of one layer (dZ, db, dslope, dX, dW) for every activation and saved aux.
#include "support/harness.h"

#include <catch2/catch.hpp>

TEST_CASE("backward matches the reference for every activation, aux and shape", "[backward]") {
    cases::for_each_case("backward", 100, cases::check_backward);
}
