// Python objects as reluforge tensors, without copying: anything that speaks DLPack (`__dlpack__`:
// NumPy >= 1.22, PyTorch >= 1.10, CuPy, JAX), and, for read-only NumPy arrays, which DLPack cannot
// export, the buffer protocol.
#pragma once

#include "reluforge/tensor.h"

#include <pybind11/pybind11.h>

#include <string>

namespace reluforge::python {

// A tensor view and what keeps its memory alive while a kernel runs.
struct HeldTensor {
    Tensor view;
    pybind11::object owner;  // the DLPack capsule or the buffer view
};

// The view of obj for a kernel argument called `name` (an output when `output`). Throws
// reluforge::Error naming the argument: not an array, read-only output, dtype, rank, strides, or
// device that no kernel takes.
HeldTensor tensor_from_python(pybind11::handle obj, const std::string &name, bool output);

}  // namespace reluforge::python
