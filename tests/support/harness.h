// Runs one layer through reluforge's public API on generated data and compares every output
// with the double-precision reference (tolerances of docs/numerics.md; see compare.h).
#pragma once

#include "../reference/reference.h"
#include "cases.h"
#include "compare.h"

namespace cases {

// Runs check(layer, shape, seed, specials) over every activation, layer configuration and shape,
// with and without NaN/Inf rows, reporting each comparison as one Catch2 CHECK.
void for_each_case(const char *what, unsigned seed,
                   Comparison (*check)(const reluforge::Linear &, Shape, unsigned, bool));

// Forward: Y, and Z / mask / counts as the layer saves them. With specials, rows 0..2 of X hold
// NaN, +Inf and -Inf (when M >= 3).
Comparison check_forward(const reluforge::Linear &layer, Shape s, unsigned seed, bool specials);
// Backward from a given Z (rows 0..2 NaN, +Inf, -Inf with specials): dZ, db, dslope, dX, dW.
Comparison check_backward(const reluforge::Linear &layer, Shape s, unsigned seed, bool specials);
// Chained backward: top_of(prev) finishes dX with prev's act' (dz_prev, db_prev, dslope_prev).
Comparison check_chained(const reluforge::Linear &prev, Shape s, unsigned seed, bool specials);

}  // namespace cases
