// The checks run_kernel makes before it calls a kernel, for callers inside the runtime that must
// validate a call before they allocate one of its tensors (Linear's dZ scratch).
#pragma once

#include "reluforge/signature.h"
#include "reluforge/tensor.h"

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace reluforge {

// The extents a call's arguments bind (an array by Extent: small calls pay for every allocation).
class BoundExtents {
public:
    BoundExtents() { values_.fill(-1); }
    bool has(Extent e) const { return values_[index(e)] >= 0; }
    std::int64_t at(Extent e) const {
        if (!has(e)) throw std::logic_error(std::string("extent ") + to_string(e) + " is not bound");
        return values_[index(e)];
    }
    std::int64_t value_or(Extent e, std::int64_t otherwise) const { return has(e) ? values_[index(e)] : otherwise; }
    void bind(Extent e, std::int64_t value) { values_[index(e)] = value; }

private:
    static std::size_t index(Extent e) { return static_cast<std::size_t>(e); }
    std::array<std::int64_t, static_cast<std::size_t>(Extent::panel_K) + 1> values_;  // -1: not bound
};

// Throws Error naming the problem when args do not fit spec's signature (count, dtype, device,
// shape, layout, size, aliasing); the slot named `unchecked` is left out of every check. Returns
// the extents the arguments bind.
BoundExtents check_arguments(const KernelSpec &spec, const std::vector<Tensor> &args, std::string_view unchecked);

// Whether the bytes two tensors span meet (OpenCL tensors: whether they are the same cl_mem); a
// tensor not given spans nothing.
bool tensors_overlap(const Tensor &a, const Tensor &b);

}  // namespace reluforge
