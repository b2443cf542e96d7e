// Loading the OpenCL ICD loader, describing the device Halide's OpenCL runtime chose, and device
// memory in its context. The few OpenCL entry points used here are declared by hand (no OpenCL
// headers needed to build reluforge).
#include "reluforge/opencl.h"

#include "reluforge/error.h"

#include <HalideRuntime.h>
#include <HalideRuntimeOpenCL.h>
#include <dlfcn.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <vector>

// Halide's OpenCL runtime: its context and queue, created on first use (a kernel run, or here).
extern "C" int halide_acquire_cl_context(void *user_context, void **context, void **queue, bool create);
extern "C" int halide_release_cl_context(void *user_context);

namespace reluforge::opencl {
namespace {

using cl_int = std::int32_t;
using cl_uint = std::uint32_t;
constexpr cl_uint kPlatformName = 0x0902;
constexpr std::uint64_t kDeviceTypeAll = 0xFFFFFFFF;
constexpr cl_uint kDeviceMaxWorkItemDimensions = 0x1003;
constexpr cl_uint kDeviceMaxWorkGroupSize = 0x1004;
constexpr cl_uint kDeviceMaxWorkItemSizes = 0x1005;
constexpr cl_uint kDeviceLocalMemSize = 0x1023;
constexpr cl_uint kDeviceName = 0x102B;
constexpr cl_uint kDeviceExtensions = 0x1030;
constexpr cl_uint kDevicePlatform = 0x1031;
constexpr cl_uint kContextDevices = 0x1081;
constexpr std::uint64_t kMemReadWrite = 1;
constexpr cl_uint kTrue = 1;

struct Api {
    cl_int (*GetPlatformIDs)(cl_uint, void **, cl_uint *);
    cl_int (*GetDeviceIDs)(void *, std::uint64_t, cl_uint, void **, cl_uint *);
    cl_int (*GetPlatformInfo)(void *, cl_uint, std::size_t, void *, std::size_t *);
    cl_int (*GetDeviceInfo)(void *, cl_uint, std::size_t, void *, std::size_t *);
    cl_int (*GetContextInfo)(void *, cl_uint, std::size_t, void *, std::size_t *);
    void *(*CreateBuffer)(void *, std::uint64_t, std::size_t, void *, cl_int *);
    cl_int (*ReleaseMemObject)(void *);
    cl_int (*EnqueueWriteBuffer)(void *, void *, cl_uint, std::size_t, std::size_t, const void *, cl_uint, const void *, void *);
    cl_int (*EnqueueReadBuffer)(void *, void *, cl_uint, std::size_t, std::size_t, void *, cl_uint, const void *, void *);
    cl_int (*Finish)(void *);
};

struct State {
    std::once_flag loaded;
    Api api{};
    bool ok = false;
    std::string why_not;
};

State &state() {
    static State s;
    return s;
}

template <typename F>
bool find(void *lib, const char *name, F &fn) {
    fn = reinterpret_cast<F>(::dlsym(lib, name));
    return fn != nullptr;
}

// Global, so that Halide's OpenCL runtime (which asks the process for the symbols before it
// tries libOpenCL.so, a name only the development package installs) finds them too.
const State &loaded() {
    State &s = state();
    std::call_once(s.loaded, [&s] {
        void *lib = ::dlopen("libOpenCL.so.1", RTLD_NOW | RTLD_GLOBAL);
        if (!lib) lib = ::dlopen("libOpenCL.so", RTLD_NOW | RTLD_GLOBAL);
        if (!lib) {
            s.why_not = "no OpenCL ICD loader (libOpenCL.so.1; Debian: ocl-icd-libopencl1, and a platform such as "
                        "pocl-opencl-icd)";
            return;
        }
        Api &a = s.api;
        if (!find(lib, "clGetPlatformIDs", a.GetPlatformIDs) || !find(lib, "clGetDeviceIDs", a.GetDeviceIDs) ||
            !find(lib, "clGetPlatformInfo", a.GetPlatformInfo) || !find(lib, "clGetDeviceInfo", a.GetDeviceInfo) ||
            !find(lib, "clGetContextInfo", a.GetContextInfo) ||
            !find(lib, "clCreateBuffer", a.CreateBuffer) || !find(lib, "clReleaseMemObject", a.ReleaseMemObject) ||
            !find(lib, "clEnqueueWriteBuffer", a.EnqueueWriteBuffer) ||
            !find(lib, "clEnqueueReadBuffer", a.EnqueueReadBuffer) || !find(lib, "clFinish", a.Finish)) {
            s.why_not = "the OpenCL ICD loader lacks OpenCL 1.2 entry points";
            return;
        }
        cl_uint platforms = 0;
        if (a.GetPlatformIDs(0, nullptr, &platforms) != 0 || platforms == 0) {
            s.why_not = "no OpenCL platform is installed (Debian: pocl-opencl-icd runs OpenCL on the CPU)";
            return;
        }
        std::vector<void *> ids(platforms);
        a.GetPlatformIDs(platforms, ids.data(), nullptr);
        for (void *p : ids) {
            cl_uint devices = 0;
            if (a.GetDeviceIDs(p, kDeviceTypeAll, 0, nullptr, &devices) == 0 && devices > 0) {
                s.ok = true;
                return;
            }
        }
        s.why_not = "no OpenCL platform reports a device";
    });
    return s;
}

const Api &api() {
    const State &s = loaded();
    if (!s.ok) throw Error(ErrorCode::no_device, "no device: " + s.why_not);
    return s.api;
}

// Halide's OpenCL runtime finds the OpenCL entry points on its first device allocation or
// kernel; asking for its context before that fails ("clGetPlatformIDs not found"). So one byte is
// allocated and freed first, once.
int load_halide_opencl() {
    static const int rc = [] {
        halide_dimension_t dim(0, 1, 1);
        halide_buffer_t b{};
        b.type = halide_type_t(halide_type_uint, 8);
        b.dimensions = 1;
        b.dim = &dim;
        const int malloc_rc = halide_device_malloc(nullptr, &b, halide_opencl_device_interface());
        if (malloc_rc == 0) halide_device_free(nullptr, &b);
        return malloc_rc;
    }();
    return rc;
}

// Halide's context and queue, held for the duration of one use.
class Context {
public:
    Context() {
        api();
        if (int rc = load_halide_opencl(); rc != 0) {
            throw Error(ErrorCode::no_device, fmt::format("no device: Halide's OpenCL runtime did not start (code {})", rc));
        }
        if (int rc = halide_acquire_cl_context(nullptr, &context_, &queue_, true); rc != 0 || !context_) {
            if (rc == 0) halide_release_cl_context(nullptr);
            throw Error(ErrorCode::no_device, fmt::format("no device: Halide's OpenCL runtime made no context (code {})", rc));
        }
    }
    ~Context() { halide_release_cl_context(nullptr); }
    Context(const Context &) = delete;
    Context &operator=(const Context &) = delete;
    void *context() const { return context_; }
    void *queue() const { return queue_; }

private:
    void *context_ = nullptr, *queue_ = nullptr;
};

std::string info_text(cl_int (*get)(void *, cl_uint, std::size_t, void *, std::size_t *), void *of, cl_uint what) {
    std::size_t size = 0;
    if (get(of, what, 0, nullptr, &size) != 0 || size == 0) return "";
    std::string text(size, '\0');
    get(of, what, size, text.data(), nullptr);
    while (!text.empty() && text.back() == '\0') text.pop_back();
    return text;
}

void check(cl_int rc, const char *what) {
    if (rc != 0) throw Error(ErrorCode::kernel_failed, fmt::format("kernel failed: OpenCL {} returned {}", what, rc));
}

}  // namespace

bool available() { return loaded().ok; }

std::string unavailable_reason() { return loaded().ok ? "" : loaded().why_not; }

DeviceInfo device() {
    const Api &a = api();
    Context c;
    void *dev = nullptr;
    check(a.GetContextInfo(c.context(), kContextDevices, sizeof dev, &dev, nullptr), "clGetContextInfo");
    void *platform = nullptr;
    check(a.GetDeviceInfo(dev, kDevicePlatform, sizeof platform, &platform, nullptr), "clGetDeviceInfo");
    DeviceInfo d;
    d.platform = info_text(a.GetPlatformInfo, platform, kPlatformName);
    d.name = info_text(a.GetDeviceInfo, dev, kDeviceName);
    d.fp16 = info_text(a.GetDeviceInfo, dev, kDeviceExtensions).find("cl_khr_fp16") != std::string::npos;
    std::size_t group = 0;
    cl_uint dims = 0;
    std::uint64_t local = 0;
    check(a.GetDeviceInfo(dev, kDeviceMaxWorkGroupSize, sizeof group, &group, nullptr), "clGetDeviceInfo");
    check(a.GetDeviceInfo(dev, kDeviceMaxWorkItemDimensions, sizeof dims, &dims, nullptr), "clGetDeviceInfo");
    check(a.GetDeviceInfo(dev, kDeviceLocalMemSize, sizeof local, &local, nullptr), "clGetDeviceInfo");
    std::vector<std::size_t> sizes(std::max<cl_uint>(dims, 2), 1);  // OpenCL guarantees at least 3
    check(a.GetDeviceInfo(dev, kDeviceMaxWorkItemSizes, dims * sizeof(std::size_t), sizes.data(), nullptr),
          "clGetDeviceInfo");
    d.limits = {std::int64_t(group), std::int64_t(sizes[0]), std::int64_t(sizes[1]), std::int64_t(local)};
    return d;
}

void synchronize() {
    const Api &a = api();
    Context c;
    check(a.Finish(c.queue()), "clFinish");
}

DeviceBuffer::DeviceBuffer(std::size_t bytes) : bytes_(bytes) {
    const Api &a = api();
    Context c;
    cl_int rc = 0;
    // OpenCL refuses empty buffers: an empty one takes a byte.
    mem_ = a.CreateBuffer(c.context(), kMemReadWrite, bytes ? bytes : 1, nullptr, &rc);
    if (!mem_) check(rc ? rc : -1, "clCreateBuffer");
}

DeviceBuffer::~DeviceBuffer() {
    if (mem_) state().api.ReleaseMemObject(mem_);
}

DeviceBuffer::DeviceBuffer(DeviceBuffer &&o) noexcept : mem_(o.mem_), bytes_(o.bytes_) {
    o.mem_ = nullptr;
    o.bytes_ = 0;
}

DeviceBuffer &DeviceBuffer::operator=(DeviceBuffer &&o) noexcept {
    if (this != &o) {
        if (mem_) state().api.ReleaseMemObject(mem_);
        mem_ = o.mem_;
        bytes_ = o.bytes_;
        o.mem_ = nullptr;
        o.bytes_ = 0;
    }
    return *this;
}

void DeviceBuffer::copy_from_host(const void *src, std::size_t bytes) {
    if (bytes > bytes_) {
        throw Error(ErrorCode::bad_argument, fmt::format("bad argument: copying {} bytes into an OpenCL buffer of {}", bytes, bytes_));
    }
    if (bytes == 0) return;
    Context c;
    check(state().api.EnqueueWriteBuffer(c.queue(), mem_, kTrue, 0, bytes, src, 0, nullptr, nullptr), "clEnqueueWriteBuffer");
}

void DeviceBuffer::copy_to_host(void *dst, std::size_t bytes) const {
    if (bytes > bytes_) {
        throw Error(ErrorCode::bad_argument, fmt::format("bad argument: copying {} bytes out of an OpenCL buffer of {}", bytes, bytes_));
    }
    if (bytes == 0) return;
    Context c;
    check(state().api.EnqueueReadBuffer(c.queue(), mem_, kTrue, 0, bytes, dst, 0, nullptr, nullptr), "clEnqueueReadBuffer");
}

}  // namespace reluforge::opencl
