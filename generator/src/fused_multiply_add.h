// a·b + c with one rounding where the target has FMA instructions, also inside strict_float.
//
// Halide 14 has no fma of its own, and a strict_float expression never contracts a multiply and
// an add (and the epilogues are strict_float: docs/numerics.md). So the activations' polynomials
// are written with fused_multiply_add, a placeholder call, and compiling a pipeline lowers it per
// target: to LLVM's fma intrinsic on x86 with FMA (vectorized again by LLVM after Halide splits it
// into lanes), to a·b + c, rounded twice, everywhere else (SSE4.1, and the GPU targets, whose
// kernels have not been measured).
#pragma once

#include <Halide.h>

namespace reluforge::gen {

Halide::Expr fused_multiply_add(const Halide::Expr &a, const Halide::Expr &b, const Halide::Expr &c);

// Lowers the pipeline's fused_multiply_add calls for target; every pipeline compiled from an
// Algorithm calls it before compiling.
void lower_fused_multiply_adds(Halide::Pipeline &p, const Halide::Target &target);

}  // namespace reluforge::gen
