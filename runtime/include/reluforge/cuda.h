// CUDA devices: whether one is present, which context and stream kernels run on, and device
// memory for programs that have no CUDA library of their own.
//
// The CUDA driver (libcuda.so.1) is loaded on first use, never linked: a program built with
// reluforge runs on machines without one, and only asking for a CUDA kernel fails there, with
// Error(no_device). CUDA handles are passed as void * (CUcontext, CUstream, CUdeviceptr), so
// this header needs no CUDA headers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace reluforge::cuda {

// True when the driver loads and reports at least one device. Never throws.
bool available();
// Why available() is false, in one line ("" when it is true).
std::string unavailable_reason();

struct DeviceInfo {
    int ordinal = 0;
    std::string name;
    int capability = 0;  // major * 10 + minor: 80 for A100, 90 for H100
    int multiprocessors = 0;
};
// The device kernels run on: the host app's context's device, else HL_GPU_DEVICE, else 0.
// Throws Error(no_device).
DeviceInfo device();

// Hands reluforge the host app's own CUDA context and stream (a framework's, say): kernels then
// run in that context, on that stream, and reluforge creates no context of its own. With a null
// context reluforge uses the device's primary context (the one the CUDA runtime API shares),
// and a null stream is that context's default stream. Process-wide; set it before kernels run.
void set_context(void *context, void *stream = nullptr);
void set_stream(void *stream);
void *stream();
// Waits until every kernel queued on the stream has finished. Throws Error(kernel_failed).
void synchronize();

// A stream of its own in reluforge's context (for apps without the CUDA runtime API).
class Stream {
public:
    Stream();  // throws Error(no_device) or Error(kernel_failed)
    ~Stream();
    Stream(const Stream &) = delete;
    Stream &operator=(const Stream &) = delete;
    void *get() const { return stream_; }

private:
    void *stream_ = nullptr;
};

// Device memory, for tests, examples and apps without the CUDA runtime API.
class DeviceBuffer {
public:
    DeviceBuffer() = default;
    explicit DeviceBuffer(std::size_t bytes);  // throws Error(no_device) or Error(kernel_failed)
    ~DeviceBuffer();
    DeviceBuffer(DeviceBuffer &&o) noexcept;
    DeviceBuffer &operator=(DeviceBuffer &&o) noexcept;
    DeviceBuffer(const DeviceBuffer &) = delete;
    DeviceBuffer &operator=(const DeviceBuffer &) = delete;

    void *data() const { return reinterpret_cast<void *>(ptr_); }
    std::size_t size() const { return bytes_; }
    // Synchronous copies on the stream; sizes beyond size() throw Error(bad_argument).
    void copy_from_host(const void *src, std::size_t bytes, std::size_t offset = 0);
    void copy_to_host(void *dst, std::size_t bytes, std::size_t offset = 0) const;

private:
    std::uint64_t ptr_ = 0;
    std::size_t bytes_ = 0;
};

// Whether p is memory the CUDA driver knows as device (or managed) memory. False without a
// driver. Used by run_kernel to refuse host pointers passed to CUDA kernels.
bool is_device_pointer(const void *p);

}  // namespace reluforge::cuda
