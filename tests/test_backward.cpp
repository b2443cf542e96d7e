// Backward of one layer (dZ, db, dslope, dX, dW) for every activation and saved aux.
#include "support/harness.h"

#include <catch2/catch.hpp>

TEST_CASE("backward matches the reference for every activation, aux and shape", "[backward]") {
    unsigned seed = 100;
    for (const auto &act : cases::activations()) {
        for (const auto &layer : cases::layers(act)) {
            for (const auto &shape : cases::shapes()) {
                for (bool specials : {false, true}) {
                    auto cmp = cases::check_backward(layer, shape, seed++, specials);
                    INFO(cases::describe(layer) << " M,K,N=" << shape.M << "," << shape.K << ","
                                                << shape.N << (specials ? " with NaN/Inf rows" : ""));
                    INFO(cmp.report);
                    CHECK(cmp.checked > 0);
                    CHECK(cmp.failed == 0);
                }
            }
        }
    }
}
