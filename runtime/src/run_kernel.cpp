// Checking tensors against a kernel's signature and calling it through Halide buffers.
#include "argument_check.h"
#include "kernel_lookup.h"
#include "spec_facts.h"
#include "thread_pool.h"
#include "reluforge/cuda.h"
#include "reluforge/opencl.h"
#include "reluforge/error.h"
#include "reluforge/registry.h"
#include "reluforge/signature.h"

#include <HalideRuntime.h>
#include <HalideRuntimeCuda.h>
#include <HalideRuntimeOpenCL.h>
#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace reluforge {
namespace {

thread_local std::string t_halide_error;

void capture_halide_error(void *, const char *msg) { t_halide_error = msg; }

void install_error_handler() {
    static std::once_flag once;
    std::call_once(once, [] { halide_set_error_handler(capture_halide_error); });
}

halide_type_t halide_type(DType d) {
    switch (d) {
    case DType::f32: return halide_type_t(halide_type_float, 32);
    case DType::f16: return halide_type_t(halide_type_float, 16);
    case DType::u8: return halide_type_t(halide_type_uint, 8);
    case DType::i32: return halide_type_t(halide_type_int, 32);
    }
    return halide_type_t(halide_type_float, 32);
}

struct Checker {
    const std::string &spec;
    Device device;  // where the first tensor lives; every other must live there too
    BoundExtents extents;

    [[noreturn]] void fail(ErrorCode code, const ArgSlot &slot, const std::string &what) const {
        throw Error(code, fmt::format("{}: argument '{}' of kernel '{}' {}", to_string(code),
                                      slot.name, spec, what));
    }

    // Binds a symbolic extent on first sight, checks it afterwards. which: "row extent",
    // "column extent" or "length".
    void extent(const ArgSlot &slot, Extent e, std::int64_t value, const char *which) {
        if (value < 1) fail(ErrorCode::shape_mismatch, slot, fmt::format("has {} {}: must be >= 1", which, value));
        std::int64_t expected = -1;
        if (e == Extent::one) expected = 1;
        if ((e == Extent::mask_N || e == Extent::panels_N) && extents.has(Extent::N)) expected = extent_value(e, 0, extents.at(Extent::N), 0);
        if ((e == Extent::mask_K || e == Extent::panel_K) && extents.has(Extent::K)) expected = extent_value(e, 0, 0, extents.at(Extent::K));
        if (extents.has(e)) expected = extents.at(e);
        if (expected < 0) {
            extents.bind(e, value);
            packed_weight_fits(slot, e, value);
            return;
        }
        if (value != expected) {
            fail(ErrorCode::shape_mismatch, slot,
                 fmt::format("must be {} but its {} is {} where {} = {} (from earlier arguments)",
                             shape_text(slot), which, value, to_string(e), expected));
        }
    }

    // A packed W binds its panels before N is known (and its panel length, were K unknown): N
    // and K, bound later, must fit them.
    void packed_weight_fits(const ArgSlot &slot, Extent e, std::int64_t value) {
        const Extent packed = e == Extent::N ? Extent::panels_N : e == Extent::K ? Extent::panel_K : Extent::one;
        if (packed == Extent::one || !extents.has(packed)) return;
        const std::int64_t expected = e == Extent::N ? extent_value(packed, 0, value, 0) : extent_value(packed, 0, 0, value);
        if (expected != extents.at(packed)) {
            fail(ErrorCode::shape_mismatch, slot,
                 fmt::format("has {} = {}, which packs into {} = {}, but the packed weight has {} (from earlier arguments)",
                             to_string(e), value, to_string(packed), expected, extents.at(packed)));
        }
    }

    void check(const ArgSlot &slot, const Tensor &t) {
        if (!t.given()) fail(ErrorCode::bad_argument, slot, fmt::format("is missing: expected {} {}", to_string(slot.dtype), shape_text(slot)));
        if (t.data == nullptr) fail(ErrorCode::null_data, slot, "has a null data pointer");
        if (t.device != Device::cpu && t.device != Device::cuda && t.device != Device::opencl) {
            fail(ErrorCode::wrong_device, slot, fmt::format("has device value {}, which is none of Device::cpu, "
                                                            "Device::cuda and Device::opencl", static_cast<int>(t.device)));
        }
        if (t.device != device) {
            fail(ErrorCode::wrong_device, slot,
                 fmt::format("is a {} tensor but the earlier arguments are {} tensors: a kernel runs on one device",
                             to_string(t.device), to_string(device)));
        }
        if (device == Device::cuda && !cuda::is_device_pointer(t.data)) {
            fail(ErrorCode::wrong_device, slot,
                 "is declared a CUDA tensor but its pointer is not CUDA device memory (a host pointer?)");
        }
        if (t.dtype != slot.dtype && slot.is_mask) {
            fail(ErrorCode::bad_dtype, slot,
                 fmt::format("has dtype {}, expected u8: the spec saves a bit mask, one bit per element "
                             "(Tensor::mask over [M, mask_row_bytes(N)] bytes); to keep Z as f32 instead, use "
                             "save=z in the spec (Save::z for a Linear)", to_string(t.dtype)));
        }
        if (t.dtype != slot.dtype) fail(ErrorCode::bad_dtype, slot, fmt::format("has dtype {}, expected {}", to_string(t.dtype), to_string(slot.dtype)));
        if (t.rank != slot.rank) fail(ErrorCode::shape_mismatch, slot, fmt::format("has rank {}, expected {} {}", t.rank, slot.rank, shape_text(slot)));
        const int inner = t.rank - 1;
        if (t.stride[inner] != 1) fail(ErrorCode::bad_layout, slot, fmt::format("has innermost stride {}; it must be 1", t.stride[inner]));
        if (t.rank == 2) {
            extent(slot, slot.rows, t.shape[0], "row extent");
            extent(slot, slot.cols, t.shape[1], "column extent");
            if (t.stride[0] < 1) fail(ErrorCode::bad_layout, slot, fmt::format("has row stride {}: it must be positive", t.stride[0]));
            if (t.stride[0] < t.shape[1]) fail(ErrorCode::bad_layout, slot, fmt::format("has row stride {} smaller than its {} columns", t.stride[0], t.shape[1]));
            if (slot.is_mask && t.stride[0] % 64 != 0) fail(ErrorCode::bad_layout, slot, fmt::format("is a bit mask whose row stride {} bytes is not a multiple of 64", t.stride[0]));
            if (t.stride[0] > INT32_MAX / t.shape[0]) fail(ErrorCode::bad_layout, slot, "is too large: more than 2^31 elements");
        } else {
            extent(slot, slot.cols, t.shape[0], "length");
        }
    }
};

// Bytes spanned by a tensor, for the aliasing check. An OpenCL tensor is a handle (cl_mem):
// two alias when they are the same one.
std::pair<std::uintptr_t, std::uintptr_t> span(const Tensor &t) {
    auto begin = reinterpret_cast<std::uintptr_t>(t.data);
    if (t.device == Device::opencl) return {begin, begin + 1};
    std::int64_t elems = t.rank == 2 ? (t.shape[0] - 1) * t.stride[0] + t.shape[1] : t.shape[0];
    return {begin, begin + static_cast<std::uintptr_t>(elems * element_size(t.dtype))};
}

}  // namespace

bool tensors_overlap(const Tensor &a, const Tensor &b) {
    const auto [a_begin, a_end] = span(a);
    const auto [b_begin, b_end] = span(b);
    return a_begin < b_end && b_begin < a_end;
}

namespace {

// check_arguments with the spec's signature and canonical text already at hand.
BoundExtents check_signature(const std::string &text, const std::vector<ArgSlot> &slots,
                             const std::vector<Tensor> &args, std::string_view unchecked) {
    if (args.size() != slots.size()) {
        std::string names;
        for (const auto &s : slots) names += (names.empty() ? "" : ", ") + std::string(s.name);
        throw Error(ErrorCode::bad_argument, fmt::format("kernel '{}' takes {} tensors ({}), got {}",
                                                         text, slots.size(), names, args.size()));
    }
    const Device device = args.empty() ? Device::cpu : args[0].device;
    if (device == Device::cuda && !cuda::available()) {
        throw Error(ErrorCode::no_device, fmt::format("no device: kernel '{}' was given CUDA tensors: {}", text,
                                                      cuda::unavailable_reason()));
    }
    if (device == Device::opencl && !opencl::available()) {
        throw Error(ErrorCode::no_device, fmt::format("no device: kernel '{}' was given OpenCL tensors: {}", text,
                                                      opencl::unavailable_reason()));
    }
    std::size_t skip = slots.size();  // the unchecked slot's index, if any
    for (size_t k = 0; k < slots.size() && !unchecked.empty(); k++) {
        if (slots[k].name == unchecked) skip = k;
    }
    Checker checker{text, device, {}};
    for (size_t k = 0; k < slots.size(); k++) {
        if (k != skip) checker.check(slots[k], args[k]);
    }
    for (size_t o = 0; o < slots.size(); o++) {
        if (!slots[o].output || o == skip) continue;
        for (size_t k = 0; k < slots.size(); k++) {
            if (k == o || (slots[k].output && k < o) || k == skip) continue;
            if (tensors_overlap(args[o], args[k])) {
                throw Error(ErrorCode::aliasing,
                            fmt::format("aliasing: output '{}' of kernel '{}' overlaps {} '{}'",
                                        slots[o].name, text, slots[k].output ? "output" : "input",
                                        slots[k].name));
            }
        }
    }
    return checker.extents;
}

}  // namespace

BoundExtents check_arguments(const KernelSpec &spec, const std::vector<Tensor> &args, std::string_view unchecked) {
    const SpecFacts &facts = spec_facts(spec);
    return check_signature(facts.text, facts.slots, args, unchecked);
}

namespace {

// Checks args against spec's signature, then runs `chosen`, or the registry's kernel for the
// call's shape when none is given.
void check_and_run(const KernelSpec &spec, const std::vector<Tensor> &args, const KernelHandle *chosen) {
    const SpecFacts &facts = spec_facts(spec);
    const std::vector<ArgSlot> &slots = facts.slots;
    const std::string &text = facts.text;
    const BoundExtents extents = check_signature(text, slots, args, {});
    const Device device = args.empty() ? Device::cpu : args[0].device;
    if (chosen && chosen->device != device) {
        throw Error(ErrorCode::wrong_device,
                    fmt::format("wrong device: kernel '{}' runs on {} but its tensors are {} tensors", text,
                                to_string(chosen->device), to_string(device)));
    }
    const Shape shape{extents.value_or(Extent::M, 0), extents.value_or(Extent::N, 0), extents.value_or(Extent::K, 0)};
    const KernelHandle kernel = chosen                  ? *chosen
                                : device == Device::cpu ? find_cpu_kernel(spec, text, shape)
                                                        : find_kernel(spec, shape, device);

    // Kept per thread: a small call pays for every allocation. No kernel calls back into run_kernel.
    struct CallBuffers {
        std::vector<halide_dimension_t> dims;
        std::vector<halide_buffer_t> buffers;
        std::vector<void *> argv;
    };
    thread_local CallBuffers call;
    auto &[dims, buffers, argv] = call;
    dims.resize(2 * slots.size());
    buffers.assign(slots.size(), halide_buffer_t{});
    argv.resize(slots.size());
    install_error_handler();
    t_halide_error.clear();
    // GPU buffers hold the device pointer (OpenCL: the cl_mem) and no host pointer; they are
    // detached again however the call ends.
    struct Detach {
        std::vector<halide_buffer_t> &buffers;
        Device device;
        ~Detach() {
            for (auto &b : buffers) {
                if (!b.device) continue;
                if (device == Device::cuda) halide_cuda_detach_device_ptr(nullptr, &b);
                else halide_opencl_detach_cl_mem(nullptr, &b);
            }
        }
    } detach{buffers, device};
    for (size_t k = 0; k < slots.size(); k++) {
        const Tensor &t = args[k];
        halide_buffer_t &b = buffers[k];
        if (device == Device::cpu) b.host = static_cast<std::uint8_t *>(t.data);
        b.type = halide_type(t.dtype);
        b.dimensions = t.rank;
        b.dim = &dims[2 * k];
        // Halide's dimension 0 is the innermost: columns, then rows.
        if (t.rank == 2) {
            dims[2 * k] = halide_dimension_t(0, static_cast<int32_t>(t.shape[1]), 1);
            dims[2 * k + 1] = halide_dimension_t(0, static_cast<int32_t>(t.shape[0]), static_cast<int32_t>(t.stride[0]));
        } else {
            dims[2 * k] = halide_dimension_t(0, static_cast<int32_t>(t.shape[0]), 1);
        }
        argv[k] = &b;
        if (device != Device::cpu) {
            const auto ptr = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(t.data));
            const int rc = device == Device::cuda ? halide_cuda_wrap_device_ptr(nullptr, &b, ptr)
                                                  : halide_opencl_wrap_cl_mem(nullptr, &b, ptr);
            if (rc != 0) {
                throw Error(ErrorCode::kernel_failed, fmt::format("kernel failed: argument '{}' of kernel '{}': "
                                                                  "wrapping the device pointer failed with code {}: {}",
                                                                  slots[k].name, text, rc, t_halide_error));
            }
        }
    }
    const auto pool = detail::kernel_call_lock();
    if (int rc = kernel.fn(argv.data()); rc != 0) {
        const std::string where = device == Device::cuda     ? fmt::format("sm_{}", kernel.cuda_capability)
                                  : device == Device::opencl ? std::string("opencl")
                                                             : std::string(to_string(kernel.isa));
        throw Error(ErrorCode::kernel_failed, fmt::format("kernel '{}' ({}) failed with code {}: {}",
                                                          text, where, rc, t_halide_error));
    }
}

}  // namespace

void run_kernel(const KernelSpec &spec, const std::vector<Tensor> &args) { check_and_run(spec, args, nullptr); }

void run_kernel(const KernelHandle &kernel, const std::vector<Tensor> &args) {
    if (!kernel.fn) throw Error(ErrorCode::bad_argument, fmt::format("kernel handle for '{}' has no function", to_string(kernel.spec)));
    if (kernel.device == Device::cpu && kernel.isa > host_isa()) {
        throw Error(ErrorCode::bad_argument, fmt::format("kernel '{}' is built for {}; this CPU runs up to {}",
                                                         to_string(kernel.spec), to_string(kernel.isa), to_string(host_isa())));
    }
    check_and_run(kernel.spec, args, &kernel);
}

void run_kernel(std::string_view canonical_spec, std::initializer_list<Tensor> args) {
    run_kernel(parse_spec(canonical_spec), std::vector<Tensor>(args));
}

}  // namespace reluforge
