// The activations of docs/numerics.md as Halide expressions, forward and derivative, written by hand
// (Halide's autodiff takes d/dz max(z, 0) = 1 at z = 0). Every expression is strict_float: the
// kink predicates fix the NaN branch only if no fast-math rewrite touches them.
#pragma once

#include "reluforge/spec.h"

#include <Halide.h>

namespace reluforge::gen {

// slope: prelu's slope at this element (ignored by the other activations).
Halide::Expr activation(const Activation &act, Halide::Expr z, Halide::Expr slope = Halide::Expr());
// act'(z), from the pre-activation.
Halide::Expr derivative(const Activation &act, Halide::Expr z, Halide::Expr slope = Halide::Expr());
// act'(z), from the saved output y (where derivative_from_y_allowed).
Halide::Expr derivative_from_y(const Activation &act, Halide::Expr y);
// The "1 bit" predicate saved in masks, and act' rebuilt from it.
Halide::Expr mask_bit(const Activation &act, Halide::Expr z);
Halide::Expr derivative_from_bit(const Activation &act, Halide::Expr bit);
// x != 0, with NaN counted as nonzero (the dead-unit counts' test of act').
Halide::Expr is_nonzero(Halide::Expr x);
// PReLU's slope-gradient term: z > 0 ? 0 : z * dy.
Halide::Expr prelu_slope_term(Halide::Expr z, Halide::Expr dy);
// Whether act and act' are long chains of dependent vector operations (exp, erfc, log), which
// schedules compute several vectors at a time so that the chains interleave.
bool is_long_chain(const Activation &act);

}  // namespace reluforge::gen
