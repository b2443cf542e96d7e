// The algorithm of each kernel: Halide Funcs without a schedule. Every algorithm has the same
// shape, which is what the schedules in schedules/ rely on:
//
//   acc(j, i) = init;  acc(j, i) += lhs(r, i) * operand(j, r)     (matmul ops only; lhs and
//                                       operand are Funcs a schedule may stage or inline)
//   tiled(j, i)  = epilogue(acc)        computed tile by tile with acc; an output, or an
//                                       intermediate when other outputs need the raw accumulator
//   passes       elementwise Funcs over (j, i) computed after tiled (mask, Y from raw Z, ...)
//   column_sums  out(j) = partial(j), partial(j) = Σ_rows g(j, row)  (db, dslope, counts)
//   roots        anything small left (the shared PReLU slope gradient)
//
// j runs along the output's rows (contiguous), i down its columns.
#pragma once

#include "reluforge/spec.h"

#include <Halide.h>

#include <vector>

namespace reluforge::gen {

struct ColumnSum {
    Halide::Func out, partial;
    Halide::RDom rows;
    Halide::Expr cols;
    bool is_output = true;
};

struct Pass {
    Halide::Func f;
    Halide::Expr cols;  // extent of f's first dimension
    Halide::Expr rows;  // ... and of its second (undefined: Algorithm::rows)
    // Conditions f selects on, each making it cheaper where it holds (whole vectors, fewer
    // reads): the CPU schedule specializes f on each in turn, and the select drops the rest.
    std::vector<Halide::Expr> cases;
};

struct Algorithm {
    std::vector<Halide::Argument> inputs;  // in kernel_signature order
    std::vector<Halide::ImageParam> images;  // the same inputs, for estimates
    std::vector<Halide::Func> outputs;     // in kernel_signature order (a Tuple counts for each)
    Halide::Var j{"j"}, i{"i"};

    bool has_matmul = false;
    Halide::Func acc{"acc"}, lhs{"lhs"}, operand{"operand"};
    // Where operand reads its tensor down the columns (forward with [N,K] weights, backward_data
    // with [K,N]), operand(j, r) = operand_source(j, r), the transposed read; a schedule may
    // pack operand in tiles read along the tensor's rows (operand_rows, below).
    bool operand_transposed = false;
    // Where lhs(r, i) reads its tensor along i rather than r (backward_weight: Xᵀ, dZᵀ), as
    // lhs(r, i) = lhs_rows(i, r), lhs_rows being the tensor as stored; a schedule may compute lhs
    // at root (a whole transposed copy) so that the product reads it along r.
    bool lhs_transposed = false;
    Halide::Func lhs_rows{"lhs_rows"};
    // Where whole vectors need tiles whose columns start at multiples of 16, the condition under
    // which they do (undefined: none), for which schedules add tiers of their own: there a packed
    // W (packed_weights.h) loads its panels whole, and a bit mask (mask_factors) a vector's bits
    // from 16 adjacent bytes.
    Halide::Expr cols_aligned;
    Halide::Func operand_source{"operand_source"};
    // operand_source(j, r) = operand_rows(r, j): the tensor as it is stored, along r.
    Halide::Func operand_rows{"operand_rows"};
    // backward_data built as dXᵀ = W·dZᵀ (build_algorithm's transposed_product): operand_source
    // is dZᵀ, which a schedule computes at root (dZ transposed once), tiled is dXᵀ (an
    // intermediate, rows W's K and columns the batch), and the first pass writes dX from it.
    // backward_weight over [K,N] weights likewise computes dWᵀ (the [N,K] layout's product, its
    // operand X as stored, so operand_source is undefined) and its first pass writes dW.
    bool transposed_product = false;
    Halide::RDom r;
    // The matmul as dot products (build_algorithm's dot_lanes, where the operand is read
    // transposed, so that both operands are contiguous along the reduction, or where a block
    // gathers its few columns of W once): then acc(j, i) =
    // init + Σ_l lanes(l, j, i) + dot_tail(j, i), with no update, where lanes(l, j, i) sums
    // lane l of each whole vector of the reduction, dot_folds halve the lanes (the last has two)
    // and dot_tail sums the steps past the last whole vector.
    bool dot = false;
    // Forward: inference runs batches of a single row or a few, so schedules give fewer rows than
    // a block their own blocks (each is code in every kernel that has it).
    bool few_rows_likely = false;
    Halide::Func lanes{"lanes"}, dot_tail{"dot_tail"};
    std::vector<Halide::Func> dot_folds;

    Halide::Func tiled;
    bool tiled_is_output = true;
    // The activation (or its derivative) is a long chain of dependent vector operations
    // (is_long_chain): schedules compute it several vectors at a time.
    bool long_epilogue = false;
    Halide::Expr cols, rows;  // extents of tiled, for shape specializations

    // act' from a saved bit mask, column by column: tiled reads it (activation_backward's dZ, the
    // chained backward_data's epilogue). A CPU pass computes it a row at a time in groups of 16
    // columns; a matmul's epilogue reads it inline, 16 adjacent bytes per vector where
    // cols_aligned holds.
    std::vector<Halide::Func> mask_factors;

    std::vector<Pass> passes;
    std::vector<ColumnSum> column_sums;
    std::vector<Halide::Func> roots;
};

// Throws Error(bad_spec) for a spec that does not validate. With clamp_matmul_reads, the matmul
// reads rows and columns past the result's edge from its last row and column (GPU schedules
// compute whole tiles and guard only the stores). With dot_lanes > 0, a matmul that can
// (has_dot_products: its operand read transposed, or forward's [K,N] weights) is built as dot
// products in vectors of that many lanes (a power of two >= 2).
// With transposed_product, backward_data over [K,N] weights is built as dXᵀ = W·dZᵀ and
// backward_weight over [K,N] weights as dWᵀ = dZᵀ·X (CPU schedules only; others ignore it).
Algorithm build_algorithm(const KernelSpec &spec, bool clamp_matmul_reads = false, int dot_lanes = 0,
                          bool transposed_product = false);

}  // namespace reluforge::gen
