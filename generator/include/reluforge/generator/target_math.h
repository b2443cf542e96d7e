// Operations whose best instructions Halide 14 cannot be asked for, written as placeholder calls
// that compiling a pipeline lowers per target.
//
// fused_multiply_add: a·b + c with one rounding where the target has FMA, also inside
// strict_float. Halide 14 has no fma of its own, and never contracts a strict_float multiply and
// add (the epilogues are strict_float: docs/numerics.md). Lowered to LLVM's fma on x86 with FMA
// (vectorized again by LLVM after Halide splits it into lanes); to a·b + c, rounded twice, on
// SSE4.1 and the GPU targets, whose kernels have not been measured. Opaque until then, so that
// Halide's simplifier cannot merge steps whose rounding matters.
//
// round_down: floor(x). Halide 14's floor of 16 lanes on AVX-512 is two 8-lane roundings and a
// shuffle; LLVM's is one vrndscaleps.
#pragma once

#include <Halide.h>

namespace reluforge::gen {

Halide::Expr fused_multiply_add(const Halide::Expr &a, const Halide::Expr &b, const Halide::Expr &c);
Halide::Expr round_down(const Halide::Expr &x);

// Lowers the pipeline's placeholder calls for target; every pipeline compiled from an Algorithm
// calls it before compiling.
void lower_target_math(Halide::Pipeline &p, const Halide::Target &target);

}  // namespace reluforge::gen
