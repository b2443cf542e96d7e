// The few CUDA driver entry points the runtime uses, loaded from libcuda.so.1 on first use.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace reluforge::cuda::driver {

using CUresult = int;
using CUdevice = int;
using CUcontext = void *;
using CUstream = void *;
using CUdeviceptr = unsigned long long;

struct Api {
    CUresult (*cuInit)(unsigned);
    CUresult (*cuDeviceGetCount)(int *);
    CUresult (*cuDeviceGet)(CUdevice *, int);
    CUresult (*cuDeviceGetName)(char *, int, CUdevice);
    CUresult (*cuDeviceGetAttribute)(int *, int, CUdevice);
    CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
    CUresult (*cuCtxPushCurrent)(CUcontext);
    CUresult (*cuCtxPopCurrent)(CUcontext *);
    CUresult (*cuCtxGetDevice)(CUdevice *);
    CUresult (*cuMemAlloc)(CUdeviceptr *, std::size_t);
    CUresult (*cuMemFree)(CUdeviceptr);
    CUresult (*cuMemcpyHtoDAsync)(CUdeviceptr, const void *, std::size_t, CUstream);
    CUresult (*cuMemcpyDtoHAsync)(void *, CUdeviceptr, std::size_t, CUstream);
    CUresult (*cuStreamSynchronize)(CUstream);
    CUresult (*cuStreamCreate)(CUstream *, unsigned);
    CUresult (*cuStreamDestroy)(CUstream);
    CUresult (*cuPointerGetAttribute)(void *, int, CUdeviceptr);
    CUresult (*cuGetErrorString)(CUresult, const char **);
};

// The loaded driver with a device present, or nullptr; why_not() says why.
const Api *api();
const std::string &why_not();
// The driver's text for an error code.
std::string error_text(CUresult r);

// The context kernels run in (the host app's, or the device's primary context) and the stream.
// Both throw Error(no_device) without a driver.
CUcontext context();
CUstream stream();

// Makes context() current on this thread for the lifetime of the guard.
class ScopedContext {
public:
    ScopedContext();
    ~ScopedContext();
    ScopedContext(const ScopedContext &) = delete;
    ScopedContext &operator=(const ScopedContext &) = delete;
};

// Throws Error(kernel_failed) naming what failed when r is not CUDA_SUCCESS.
void check(CUresult r, const char *what);

}  // namespace reluforge::cuda::driver
