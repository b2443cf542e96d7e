// The argument list of every kernel, in call order: inputs, then outputs. The generator builds its
// Halide pipelines from this list and the runtime checks tensors against it, so the two cannot
// disagree about what a kernel takes.
#pragma once

#include "reluforge/spec.h"

#include <vector>

namespace reluforge {

// Symbolic extents. M rows of the batch; N outputs of the layer; K inputs of the layer.
enum class Extent { one, M, N, K, mask_N, mask_K };

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

}  // namespace reluforge
