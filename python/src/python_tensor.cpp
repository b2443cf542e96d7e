#include "python_tensor.h"

#include "reluforge/error.h"

#include <dlpack/dlpack.h>
#include <fmt/format.h>

#include <cstdint>
#include <memory>

namespace py = pybind11;

namespace reluforge::python {
namespace {

[[noreturn]] void refuse(ErrorCode code, const std::string &name, const std::string &what) {
    throw Error(code, fmt::format("argument '{}': {}", name, what));
}

DType dtype_of(const DLDataType &t, const std::string &name) {
    if (t.lanes == 1) {
        if (t.code == kDLFloat && t.bits == 32) return DType::f32;
        if (t.code == kDLFloat && t.bits == 16) return DType::f16;
        if (t.code == kDLUInt && t.bits == 8) return DType::u8;
        if (t.code == kDLInt && t.bits == 32) return DType::i32;
    }
    const char *kind = t.code == kDLFloat ? "float" : t.code == kDLInt ? "int" : t.code == kDLUInt ? "uint"
                       : t.code == kDLBfloat ? "bfloat" : "other";
    refuse(ErrorCode::bad_dtype, name,
           fmt::format("dtype {}{}{} is not one reluforge takes (float32, float16; uint8 masks, int32 counts)", kind,
                       t.bits, t.lanes == 1 ? "" : fmt::format("x{}", t.lanes)));
}

Device device_of(const DLDevice &d, const std::string &name) {
    if (d.device_type == kDLCPU) return Device::cpu;
    if (d.device_type == kDLCUDA) return Device::cuda;
    refuse(ErrorCode::wrong_device, name,
           fmt::format("DLPack device type {} is neither the CPU nor a CUDA device", int(d.device_type)));
}

// A view of rank 1 or 2 with unit stride along rows; the row stride becomes the tensor's ld.
Tensor view_of(void *data, DType dtype, Device device, int ndim, const std::int64_t *shape,
               const std::int64_t *strides, const std::string &name) {
    if (ndim != 1 && ndim != 2) refuse(ErrorCode::bad_layout, name, fmt::format("{} dimensions; kernels take 1 or 2", ndim));
    for (int d = 0; d < ndim; d++) {
        if (strides && shape[d] > 1 && strides[d] < 0) refuse(ErrorCode::bad_layout, name, "negative strides");
    }
    const std::int64_t cols = shape[ndim - 1];
    if (strides && cols > 1 && strides[ndim - 1] != 1) {
        refuse(ErrorCode::bad_layout, name,
               fmt::format("elements along a row are {} apart; kernels need contiguous rows (pass a copy, e.g. "
                           "numpy.ascontiguousarray or tensor.contiguous())",
                           strides[ndim - 1]));
    }
    Tensor t;
    if (ndim == 1) {
        t = Tensor::vector(data, dtype, cols);
    } else {
        // No strides means compact rows. A single row's stride is arbitrary (PyTorch reports 1 for
        // it): any value at least cols describes it, and a multiple of 64 also meets a bit mask's
        // row alignment.
        const std::int64_t ld = shape[0] <= 1 ? (cols + 63) / 64 * 64 : !strides ? cols : strides[0];
        t = Tensor::matrix(data, dtype, shape[0], cols, ld);
    }
    return t.on(device);
}

HeldTensor from_dlpack(py::handle obj, const std::string &name) {
    py::object capsule = obj.attr("__dlpack__")();
    auto *managed = static_cast<DLManagedTensor *>(PyCapsule_GetPointer(capsule.ptr(), "dltensor"));
    if (!managed) {
        PyErr_Clear();
        refuse(ErrorCode::bad_argument, name, "__dlpack__ did not return a DLPack capsule");
    }
    // The capsule keeps its name: its producer's destructor frees the tensor when the capsule
    // goes, after the kernel.
    const DLTensor &t = managed->dl_tensor;
    const DType dtype = dtype_of(t.dtype, name);
    const Device device = device_of(t.device, name);
    void *data = static_cast<char *>(t.data) + t.byte_offset;
    return {view_of(data, dtype, device, t.ndim, t.shape, t.strides, name), capsule};
}

// NumPy cannot export a read-only array through DLPack ("signalling readonly is unsupported"):
// such an input comes through the buffer protocol instead, and as an output it is refused.
HeldTensor from_buffer(py::handle obj, const std::string &name, bool output) {
    auto view = std::make_unique<Py_buffer>();
    const int flags = PyBUF_STRIDES | PyBUF_FORMAT | (output ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj.ptr(), view.get(), flags) != 0) {
        PyErr_Clear();
        Py_buffer probe;
        if (output && PyObject_GetBuffer(obj.ptr(), &probe, PyBUF_STRIDES) == 0) {
            PyBuffer_Release(&probe);
            refuse(ErrorCode::bad_argument, name, "is read-only; an output must be writable");
        }
        PyErr_Clear();
        refuse(ErrorCode::bad_argument, name,
               fmt::format("a {} is not an array (reluforge takes objects with __dlpack__ or the buffer protocol)",
                           std::string(py::str(py::type::of(obj).attr("__name__")))));
    }
    Py_buffer *buffer = view.get();
    py::capsule owner(view.release(), [](void *p) {
        auto *b = static_cast<Py_buffer *>(p);
        PyBuffer_Release(b);
        delete b;
    });
    const std::string format = buffer->format ? buffer->format : "B";
    DLDataType type{kDLOpaqueHandle, 0, 1};
    if (format == "f") type = {kDLFloat, 32, 1};
    else if (format == "e") type = {kDLFloat, 16, 1};
    else if (format == "B") type = {kDLUInt, 8, 1};
    else if (format == "i" && buffer->itemsize == 4) type = {kDLInt, 32, 1};
    else if (format == "d") type = {kDLFloat, 64, 1};
    const DType dtype = dtype_of(type, name);
    std::int64_t shape[2] = {0, 0}, strides[2] = {0, 0};
    const int ndim = buffer->ndim;
    for (int d = 0; d < ndim && d < 2; d++) {
        shape[d] = buffer->shape[d];
        strides[d] = buffer->strides[d] / buffer->itemsize;
        if (buffer->strides[d] % buffer->itemsize) refuse(ErrorCode::bad_layout, name, "strides that are not whole elements");
    }
    return {view_of(buffer->buf, dtype, Device::cpu, ndim, shape, strides, name), owner};
}

}  // namespace

HeldTensor tensor_from_python(py::handle obj, const std::string &name, bool output) {
    if (py::hasattr(obj, "__dlpack__")) {
        try {
            return from_dlpack(obj, name);
        } catch (py::error_already_set &e) {
            // NumPy's read-only arrays (BufferError); anything else is the producer's own error.
            if (!e.matches(PyExc_BufferError) || !PyObject_CheckBuffer(obj.ptr())) {
                refuse(ErrorCode::bad_argument, name, fmt::format("__dlpack__ failed: {}", std::string(py::str(e.value()))));
            }
        }
    }
    return from_buffer(obj, name, output);
}

}  // namespace reluforge::python
