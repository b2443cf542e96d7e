// Loading the CUDA driver, choosing the context and stream, and handing both to Halide's CUDA
// runtime (which would otherwise create a context of its own).
#include "cuda_driver.h"

#include "reluforge/cuda.h"
#include "reluforge/error.h"

#include <HalideRuntimeCuda.h>
#include <dlfcn.h>
#include <fmt/format.h>

#include <atomic>
#include <cstdlib>
#include <mutex>

namespace reluforge::cuda {
namespace driver {
namespace {

constexpr int kAttrMultiprocessors = 16;
constexpr int kAttrCapabilityMajor = 75;
constexpr int kAttrCapabilityMinor = 76;

struct State {
    std::once_flag loaded;
    Api api{};
    bool ok = false;
    std::string why_not;
    std::mutex mutex;
    CUcontext primary = nullptr;  // retained once, never released (it lives as long as the process)
    std::atomic<CUcontext> user_context{nullptr};
    std::atomic<CUstream> user_stream{nullptr};
};

State &state() {
    static State s;
    return s;
}

template <typename F>
bool bind(void *lib, F &fn, const char *name, std::string &missing) {
    fn = reinterpret_cast<F>(::dlsym(lib, name));
    if (!fn && missing.empty()) missing = name;
    return fn != nullptr;
}

int gpu_ordinal() {
    const char *env = std::getenv("HL_GPU_DEVICE");
    return env && *env ? std::atoi(env) : 0;
}

// Halide's CUDA runtime asks for the context before every kernel launch and device allocation.
// create=false comes only from its shutdown path: answering "none" there keeps it from touching
// a context the host app may already have destroyed.
int acquire_context(void *, void **ctx, bool create) {
    if (!create) {
        *ctx = nullptr;
        return 0;
    }
    try {
        *ctx = context();
        return 0;
    } catch (const Error &e) {
        halide_error(nullptr, e.what());
        return -1;
    }
}
int release_context(void *) { return 0; }
int get_stream(void *, void *, void **s) {
    *s = state().user_stream.load();
    return 0;
}

// Global, so that Halide's CUDA runtime (which asks the process for the symbols before it tries
// libcuda.so, a name that driver installs without the development files may lack) finds them too.
void load(State &s) {
    void *lib = ::dlopen("libcuda.so.1", RTLD_NOW | RTLD_GLOBAL);
    if (!lib) lib = ::dlopen("libcuda.so", RTLD_NOW | RTLD_GLOBAL);
    if (!lib) {
        s.why_not = "no CUDA driver: libcuda.so.1 could not be loaded (install the NVIDIA driver, or run on the CPU)";
        return;
    }
    Api &a = s.api;
    std::string missing;
    bind(lib, a.cuInit, "cuInit", missing);
    bind(lib, a.cuDeviceGetCount, "cuDeviceGetCount", missing);
    bind(lib, a.cuDeviceGet, "cuDeviceGet", missing);
    bind(lib, a.cuDeviceGetName, "cuDeviceGetName", missing);
    bind(lib, a.cuDeviceGetAttribute, "cuDeviceGetAttribute", missing);
    bind(lib, a.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain", missing);
    bind(lib, a.cuCtxPushCurrent, "cuCtxPushCurrent_v2", missing);
    bind(lib, a.cuCtxPopCurrent, "cuCtxPopCurrent_v2", missing);
    bind(lib, a.cuCtxGetDevice, "cuCtxGetDevice", missing);
    bind(lib, a.cuMemAlloc, "cuMemAlloc_v2", missing);
    bind(lib, a.cuMemFree, "cuMemFree_v2", missing);
    bind(lib, a.cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2", missing);
    bind(lib, a.cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2", missing);
    bind(lib, a.cuStreamSynchronize, "cuStreamSynchronize", missing);
    bind(lib, a.cuStreamCreate, "cuStreamCreate", missing);
    bind(lib, a.cuStreamDestroy, "cuStreamDestroy_v2", missing);
    bind(lib, a.cuPointerGetAttribute, "cuPointerGetAttribute", missing);
    bind(lib, a.cuGetErrorString, "cuGetErrorString", missing);
    if (!missing.empty()) {
        s.why_not = fmt::format("the CUDA driver lacks {}: it is older than reluforge needs", missing);
        return;
    }
    if (CUresult r = a.cuInit(0); r != 0) {
        s.why_not = fmt::format("the CUDA driver is present but cuInit failed: {}", error_text(r));
        return;
    }
    int count = 0;
    if (a.cuDeviceGetCount(&count) != 0 || count < 1) {
        s.why_not = "the CUDA driver reports no GPU";
        return;
    }
    s.ok = true;
    // Kernels run where reluforge says, on the stream it says; allocations Halide makes for
    // intermediates are cached between calls rather than freed (a cuMemFree synchronizes).
    halide_set_cuda_acquire_context(acquire_context);
    halide_set_cuda_release_context(release_context);
    halide_set_cuda_get_stream(get_stream);
    halide_reuse_device_allocations(nullptr, true);
}

}  // namespace

const Api *api() {
    State &s = state();
    std::call_once(s.loaded, [&] { load(s); });
    return s.ok ? &s.api : nullptr;
}

const std::string &why_not() {
    api();
    return state().why_not;
}

std::string error_text(CUresult r) {
    const char *text = nullptr;
    State &s = state();
    if (s.api.cuGetErrorString) s.api.cuGetErrorString(r, &text);
    return text ? fmt::format("{} (CUresult {})", text, r) : fmt::format("CUresult {}", r);
}

void check(CUresult r, const char *what) {
    if (r != 0) throw Error(ErrorCode::kernel_failed, fmt::format("kernel failed: {}: {}", what, error_text(r)));
}

const Api &require() {
    const Api *a = api();
    if (!a) throw Error(ErrorCode::no_device, "no device: " + why_not());
    return *a;
}

CUcontext context() {
    const Api &a = require();
    State &s = state();
    if (CUcontext user = s.user_context.load()) return user;
    std::lock_guard lock(s.mutex);
    if (!s.primary) {
        CUdevice dev = 0;
        check(a.cuDeviceGet(&dev, gpu_ordinal()), fmt::format("cuDeviceGet({})", gpu_ordinal()).c_str());
        check(a.cuDevicePrimaryCtxRetain(&s.primary, dev), "cuDevicePrimaryCtxRetain");
    }
    return s.primary;
}

CUstream stream() {
    require();
    return state().user_stream.load();
}

ScopedContext::ScopedContext() { check(require().cuCtxPushCurrent(context()), "cuCtxPushCurrent"); }
ScopedContext::~ScopedContext() {
    CUcontext old = nullptr;
    state().api.cuCtxPopCurrent(&old);
}

}  // namespace driver

using namespace driver;

bool available() { return api() != nullptr; }

std::string unavailable_reason() { return available() ? "" : why_not(); }

DeviceInfo device() {
    const Api &a = require();
    ScopedContext scope;
    CUdevice dev = 0;
    check(a.cuCtxGetDevice(&dev), "cuCtxGetDevice");
    DeviceInfo info;
    info.ordinal = dev;
    char name[256] = {};
    check(a.cuDeviceGetName(name, sizeof name, dev), "cuDeviceGetName");
    info.name = name;
    int major = 0, minor = 0;
    check(a.cuDeviceGetAttribute(&major, kAttrCapabilityMajor, dev), "cuDeviceGetAttribute");
    check(a.cuDeviceGetAttribute(&minor, kAttrCapabilityMinor, dev), "cuDeviceGetAttribute");
    check(a.cuDeviceGetAttribute(&info.multiprocessors, kAttrMultiprocessors, dev), "cuDeviceGetAttribute");
    info.capability = major * 10 + minor;
    return info;
}

void set_context(void *ctx, void *s) {
    state().user_context = ctx;
    state().user_stream = s;
}

void set_stream(void *s) { state().user_stream = s; }

void *stream() { return state().user_stream.load(); }

void synchronize() {
    const Api &a = require();
    ScopedContext scope;
    check(a.cuStreamSynchronize(driver::stream()), "cuStreamSynchronize");
}

bool is_device_pointer(const void *p) {
    const Api *a = api();
    if (!a || !p) return false;
    constexpr int kAttrMemoryType = 2;  // CU_POINTER_ATTRIBUTE_MEMORY_TYPE
    constexpr unsigned kDevice = 2, kUnified = 4;
    unsigned type = 0;
    ScopedContext scope;
    if (a->cuPointerGetAttribute(&type, kAttrMemoryType, reinterpret_cast<CUdeviceptr>(p)) != 0) return false;
    return type == kDevice || type == kUnified;
}

Stream::Stream() {
    const Api &a = require();
    ScopedContext scope;
    CUstream s = nullptr;
    check(a.cuStreamCreate(&s, 0), "cuStreamCreate");
    stream_ = s;
}

Stream::~Stream() {
    if (const Api *a = api()) {
        ScopedContext scope;
        a->cuStreamDestroy(stream_);
    }
}

DeviceBuffer::DeviceBuffer(std::size_t bytes) : bytes_(bytes) {
    const Api &a = require();
    ScopedContext scope;
    CUdeviceptr p = 0;
    check(a.cuMemAlloc(&p, bytes ? bytes : 1), fmt::format("cuMemAlloc({} bytes)", bytes).c_str());
    ptr_ = p;
}

DeviceBuffer::~DeviceBuffer() {
    if (!ptr_) return;
    if (const Api *a = api()) {
        ScopedContext scope;
        a->cuMemFree(ptr_);
    }
}

DeviceBuffer::DeviceBuffer(DeviceBuffer &&o) noexcept : ptr_(o.ptr_), bytes_(o.bytes_) {
    o.ptr_ = 0;
    o.bytes_ = 0;
}

DeviceBuffer &DeviceBuffer::operator=(DeviceBuffer &&o) noexcept {
    if (this != &o) {
        DeviceBuffer old(std::move(*this));
        ptr_ = o.ptr_;
        bytes_ = o.bytes_;
        o.ptr_ = 0;
        o.bytes_ = 0;
    }
    return *this;
}

namespace {
void check_range(std::size_t bytes, std::size_t offset, std::size_t size) {
    if (offset > size || bytes > size - offset) {
        throw Error(ErrorCode::bad_argument,
                    fmt::format("bad argument: copy of {} bytes at offset {} overruns a device buffer of {} bytes",
                                bytes, offset, size));
    }
}
}  // namespace

void DeviceBuffer::copy_from_host(const void *src, std::size_t bytes, std::size_t offset) {
    check_range(bytes, offset, bytes_);
    const Api &a = require();
    ScopedContext scope;
    check(a.cuMemcpyHtoDAsync(ptr_ + offset, src, bytes, driver::stream()), "cuMemcpyHtoDAsync");
    check(a.cuStreamSynchronize(driver::stream()), "cuStreamSynchronize");
}

void DeviceBuffer::copy_to_host(void *dst, std::size_t bytes, std::size_t offset) const {
    check_range(bytes, offset, bytes_);
    const Api &a = require();
    ScopedContext scope;
    check(a.cuMemcpyDtoHAsync(dst, ptr_ + offset, bytes, driver::stream()), "cuMemcpyDtoHAsync");
    check(a.cuStreamSynchronize(driver::stream()), "cuStreamSynchronize");
}

}  // namespace reluforge::cuda
