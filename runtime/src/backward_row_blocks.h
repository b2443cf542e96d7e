// Linear::backward a block of rows at a time, on the CPU: each block's dZ is written by the
// activation pass and read by both products while it is still in L2, where the whole-matrix
// order sends all of dZ through memory once and back twice.
#pragma once

#include "reluforge/linear.h"

#include <cstdint>

namespace reluforge {

struct BackwardKernels {
    KernelSpec activation_backward, backward_data, backward_weight;  // backward_weight without db
};

// Rows per block for a backward of `layer` over these arguments, or 0: all rows at once.
std::int64_t backward_block_rows(const Linear &layer, const BackwardArgs &a);

// Runs the blocks; returns false, having run nothing, where the arguments do not agree with each
// other or an output overlaps an input (the caller's whole-matrix path then reports or runs it).
bool backward_by_row_blocks(const BackwardKernels &kernels, const BackwardArgs &a, std::int64_t block_rows);

}  // namespace reluforge
