// The argument list of every kernel, in call order: inputs, then outputs. The generator builds its
// Halide pipelines from this list and the runtime checks tensors against it, so the two cannot
// disagree about what a kernel takes.
#pragma once

#include "reluforge/shape_rule.h"
#include "reluforge/spec.h"

#include <cstdint>
#include <string>
#include <vector>

namespace reluforge {

// Symbolic extents. M rows of the batch; N outputs of the layer; K inputs of the layer; a bit
// mask's bytes per row; a packed W's panels and their length (packed_weights.h).
enum class Extent { one, M, N, K, mask_N, mask_K, panels_N, panel_K };

struct ArgSlot {
    const char *name;
    bool output;
    DType dtype;
    int rank;
    Extent rows, cols;  // rank 1 uses cols only
    bool is_mask = false;
};

std::vector<ArgSlot> kernel_signature(const KernelSpec &spec);
const char *to_string(Extent e);
// "[M,K]", "[N]": a slot's shape as messages and generated headers show it.
std::string shape_text(const ArgSlot &slot);
// The extent's value for a call of M, N, K (a mask's in bytes).
std::int64_t extent_value(Extent e, std::int64_t M, std::int64_t N, std::int64_t K);

// The shape run_kernel chooses spec's variant by for a call on a layer of this shape: k is 0
// for a kernel that takes no tensor with K (activation_backward).
Shape call_shape(const KernelSpec &spec, const Shape &layer);

// Whether the kernel's matmul reads the weight down its columns (forward with [N,K] weights,
// backward_data with [K,N]): the operand a schedule may transpose once instead of packing.
bool reads_weight_transposed(const KernelSpec &spec);
// Whether the kernel's matmul can run as dot products along the reduction (CPU schedules'
// operand=dot): where it reads the weight transposed, and forward over [K,N] weights, whose
// columns each block gathers once (for outputs of a few columns).
bool has_dot_products(const KernelSpec &spec);

}  // namespace reluforge
