// OpenCL devices: whether one is present, and device memory for programs that have no OpenCL
// code of their own. OpenCL kernels come from AOT libraries only (reluforge-gen --opencl,
// reluforge_add_kernels(... OPENCL)); they run on tensors declared Device::opencl, whose data is
// a cl_mem cast to void *.
//
// libOpenCL.so.1 (the ICD loader) is loaded on first use, never linked: a program built with
// reluforge runs on machines without one, and only asking for an OpenCL kernel fails there,
// with Error(no_device). Kernels run in Halide's OpenCL context, on the device its runtime picks
// (HL_OCL_PLATFORM_NAME, HL_OCL_DEVICE_TYPE and HL_GPU_DEVICE steer it; device() says which), on
// its one in-order queue; cl_mem tensors must belong to that context, as DeviceBuffer's do.
#pragma once

#include "reluforge/gpu_limits.h"

#include <cstddef>
#include <string>

namespace reluforge::opencl {

// True when the ICD loader loads and a platform reports at least one device. Never throws.
bool available();
// Why available() is false, in one line ("" when it is true).
std::string unavailable_reason();

struct DeviceInfo {
    std::string platform;  // e.g. "Portable Computing Language"
    std::string name;      // e.g. "pthread-skylake-avx512-AMD EPYC"
    bool fp16 = false;     // cl_khr_fp16: f16 storage kernels run
    GpuLimits limits;      // work-group size and shape, local memory: kernels whose schedule
                           // asks for more are refused (find_kernel, Error(no_kernel))
};
// The device kernels run on. Throws Error(no_device).
DeviceInfo device();

// Waits until every kernel queued so far has finished. Throws Error(kernel_failed).
void synchronize();

// Device memory in the context kernels run in.
class DeviceBuffer {
public:
    DeviceBuffer() = default;
    explicit DeviceBuffer(std::size_t bytes);  // throws Error(no_device) or Error(kernel_failed)
    ~DeviceBuffer();
    DeviceBuffer(DeviceBuffer &&o) noexcept;
    DeviceBuffer &operator=(DeviceBuffer &&o) noexcept;
    DeviceBuffer(const DeviceBuffer &) = delete;
    DeviceBuffer &operator=(const DeviceBuffer &) = delete;

    void *data() const { return mem_; }  // the cl_mem
    std::size_t size() const { return bytes_; }
    // Blocking copies (after every kernel queued before them); sizes beyond size() throw
    // Error(bad_argument).
    void copy_from_host(const void *src, std::size_t bytes);
    void copy_to_host(void *dst, std::size_t bytes) const;

private:
    void *mem_ = nullptr;
    std::size_t bytes_ = 0;
};

}  // namespace reluforge::opencl
