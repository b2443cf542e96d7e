// The checks run_kernel makes before it calls a kernel, for callers inside the runtime that must
// validate a call before they allocate one of its tensors (Linear's dZ scratch).
#pragma once

#include "reluforge/signature.h"
#include "reluforge/tensor.h"

#include <cstdint>
#include <map>
#include <string_view>
#include <vector>

namespace reluforge {

// Throws Error naming the problem when args do not fit spec's signature (count, dtype, device,
// shape, layout, size, aliasing); the slot named `unchecked` is left out of every check. Returns
// the extents the arguments bind.
std::map<Extent, std::int64_t> check_arguments(const KernelSpec &spec, const std::vector<Tensor> &args,
                                               std::string_view unchecked);

// Whether the bytes two tensors span meet (OpenCL tensors: whether they are the same cl_mem); a
// tensor not given spans nothing.
bool tensors_overlap(const Tensor &a, const Tensor &b);

}  // namespace reluforge
