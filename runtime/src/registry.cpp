#include "reluforge/registry.h"

#include "reluforge/cuda.h"
#include "reluforge/cuda_capability.h"
#include "reluforge/opencl.h"
#include "reluforge/detail/jit_provider.h"
#include "reluforge/detail/registration.h"
#include "reluforge/detail/variants.h"
#include "reluforge/error.h"
#include "kernel_lookup.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <optional>

namespace reluforge {
namespace {

// The variants of one spec on one ISA, in the order they are tried; the rule "" comes last.
// JIT variants start with null functions and are compiled on first use.
struct Variants {
    std::vector<ShapeRule> rules;
    std::vector<KernelFn> fns;
    std::vector<GpuNeeds> needs;  // GPU kernels: what each variant's schedule asks of the device

    void add(ShapeRule rule, KernelFn fn, GpuNeeds need = {}) {
        for (std::size_t v = 0; v < rules.size(); v++) {
            if (rules[v].text() == rule.text()) {
                fns[v] = fn;  // the same variant from another library: either will do
                needs[v] = need;
                return;
            }
        }
        const bool any = rule.any();
        auto at = any ? rules.size() : static_cast<std::size_t>(std::find_if(rules.begin(), rules.end(), [](const ShapeRule &r) { return r.any(); }) - rules.begin());
        rules.insert(rules.begin() + static_cast<std::ptrdiff_t>(at), std::move(rule));
        fns.insert(fns.begin() + static_cast<std::ptrdiff_t>(at), fn);
        needs.insert(needs.begin() + static_cast<std::ptrdiff_t>(at), need);
    }
};

struct Registry {
    std::mutex mutex;
    std::map<std::string, std::map<Isa, Variants>, std::less<>> kernels;
    // JIT kernels by spec and the ISA cap they were built under.
    std::map<std::pair<std::string, Isa>, Variants> jit_kernels;
    // CUDA kernels by spec and capability.
    std::map<std::string, std::map<int, Variants>, std::less<>> cuda_kernels;
    std::map<std::pair<std::string, int>, KernelFn> cuda_jit_kernels;
    // OpenCL kernels by spec (AOT only).
    std::map<std::string, Variants, std::less<>> opencl_kernels;
};

std::atomic<KernelPolicy> g_policy{KernelPolicy::jit_allowed};
std::mutex g_provider_mutex;
JitProvider g_provider{nullptr, nullptr, nullptr};

Registry &registry() {
    static Registry r;  // constructed on first use, so static registration order does not matter
    return r;
}

JitProvider provider() {
    std::lock_guard lock(g_provider_mutex);
    return g_provider;
}

}  // namespace

bool register_kernels(const KernelEntry *entries, std::size_t count) {
    auto &r = registry();
    std::lock_guard lock(r.mutex);
    for (std::size_t k = 0; k < count; k++) {
        const KernelEntry &e = entries[k];
        if (e.device == Device::opencl) {
            r.opencl_kernels[e.spec].add(ShapeRule::parse(e.shape_rule), e.fn, e.gpu_needs);
        } else if (e.cuda_capability) {
            r.cuda_kernels[e.spec][e.cuda_capability].add(ShapeRule::parse(e.shape_rule), e.fn, e.gpu_needs);
        }
        else r.kernels[e.spec][e.isa].add(ShapeRule::parse(e.shape_rule), e.fn);
    }
    return true;
}

void set_kernel_policy(KernelPolicy policy) { g_policy = policy; }
KernelPolicy kernel_policy() { return g_policy; }
const char *to_string(KernelPolicy p) {
    switch (p) {
    case KernelPolicy::aot_only: return "aot_only";
    case KernelPolicy::jit_allowed: return "jit_allowed";
    case KernelPolicy::jit_only: return "jit_only";
    }
    return "?";
}
void set_jit_provider(JitProvider p) {
    std::lock_guard lock(g_provider_mutex);
    g_provider = p;
}

namespace {

// The device's capability, asked of the driver once per process.
int device_capability() {
    static const int capability = cuda::device().capability;
    return capability;
}

KernelHandle find_cuda_kernel(const KernelSpec &spec, const Shape &shape) {
    const std::string text = to_string(spec);
    if (!cuda::available()) {
        throw Error(ErrorCode::no_device, fmt::format("no device: CUDA kernel '{}' cannot run: {}", text,
                                                      cuda::unavailable_reason()));
    }
    const int device = device_capability();
    const KernelPolicy policy = g_policy;
    auto &r = registry();
    std::string built;
    if (policy != KernelPolicy::jit_only) {
        std::lock_guard lock(r.mutex);
        if (auto it = r.cuda_kernels.find(text); it != r.cuda_kernels.end()) {
            for (auto v = it->second.rbegin(); v != it->second.rend(); ++v) {
                built += fmt::format(" {}", v->first);
                if (v->first > device) continue;
                const std::size_t k = select_variant(v->second.rules, shape);
                return {spec, Isa::sse41, v->second.rules[k].text(), v->second.fns[k], false, Device::cuda, v->first};
            }
        }
    }
    const JitProvider jit = provider();
    const int capability = cuda_build_capability(device);
    if (policy != KernelPolicy::aot_only && jit.compile_cuda && capability) {
        {
            std::lock_guard lock(r.mutex);
            if (auto it = r.cuda_jit_kernels.find({text, capability}); it != r.cuda_jit_kernels.end()) {
                return {spec, Isa::sse41, "", it->second, true, Device::cuda, capability};
            }
        }
        KernelFn fn = jit.compile_cuda(spec, capability);
        std::lock_guard lock(r.mutex);
        r.cuda_jit_kernels[{text, capability}] = fn;
        return {spec, Isa::sse41, "", fn, true, Device::cuda, capability};
    }
    if (!built.empty()) {
        throw Error(ErrorCode::no_kernel,
                    fmt::format("no kernel: spec '{}' is built for CUDA capabilities{}, none of which this GPU "
                                "(capability {}) runs",
                                text, built, device));
    }
    throw Error(ErrorCode::no_kernel,
                fmt::format("no kernel registered for spec '{}' on CUDA: build it with CUDA capabilities "
                            "(reluforge-gen --cuda-capability, reluforge_add_kernels CUDA_CAPABILITIES){}",
                            text,
                            policy == KernelPolicy::aot_only ? " (the kernel policy is aot_only)"
                                                             : ", or enable the JIT (reluforge::jit::enable)"));
}

// OpenCL kernels come from AOT libraries only: the JIT's LLVM and an OpenCL platform's own
// (pocl 3 loads LLVM 15) crash when both are in one process.
KernelHandle find_opencl_kernel(const KernelSpec &spec, const Shape &shape) {
    const std::string text = to_string(spec);
    if (!opencl::available()) {
        throw Error(ErrorCode::no_device, fmt::format("no device: OpenCL kernel '{}' cannot run: {}", text,
                                                      opencl::unavailable_reason()));
    }
    auto &r = registry();
    std::optional<KernelHandle> found;
    GpuNeeds needs;
    {
        std::lock_guard lock(r.mutex);
        if (auto it = r.opencl_kernels.find(text); it != r.opencl_kernels.end()) {
            const std::size_t k = select_variant(it->second.rules, shape);
            found = KernelHandle{spec, Isa::sse41, it->second.rules[k].text(), it->second.fns[k], false, Device::opencl, 0};
            needs = it->second.needs[k];
        }
    }
    if (found) {
        // Asked of the device once per process (Halide's runtime keeps one device for it).
        static const opencl::DeviceInfo device = opencl::device();
        if (std::string problem = gpu_limits_problem(needs, device.limits); !problem.empty()) {
            throw Error(ErrorCode::no_kernel,
                        fmt::format("no kernel: the OpenCL kernel of spec '{}' does not fit device '{}': {}; "
                                    "build it with a GPU schedule of smaller blocks (reluforge-gen --gpu-schedule, "
                                    "reluforge_add_kernels GPU_SCHEDULE)",
                                    text, device.name, problem));
        }
        return *found;
    }
    throw Error(ErrorCode::no_kernel,
                fmt::format("no kernel registered for spec '{}' on OpenCL: build it with reluforge-gen --opencl "
                            "(reluforge_add_kernels OPENCL); the JIT does not compile OpenCL kernels",
                            text));
}

}  // namespace

KernelHandle find_kernel(const KernelSpec &spec, const Shape &shape, Device device) {
    if (device != Device::cpu) validate_for_gpu(spec);
    if (device == Device::cuda) return find_cuda_kernel(spec, shape);
    if (device == Device::opencl) return find_opencl_kernel(spec, shape);
    return find_cpu_kernel(spec, to_string(spec), shape);
}

KernelHandle find_cpu_kernel(const KernelSpec &spec, const std::string &text, const Shape &shape) {
    const Isa best = std::min(host_isa(), isa_limit());
    const KernelPolicy policy = g_policy;
    auto &r = registry();
    bool aot_spec_known = false;
    if (policy != KernelPolicy::jit_only) {
        std::lock_guard lock(r.mutex);
        if (auto it = r.kernels.find(text); it != r.kernels.end()) {
            aot_spec_known = true;
            for (auto v = it->second.rbegin(); v != it->second.rend(); ++v) {
                if (v->first > best) continue;
                const std::size_t k = select_variant(v->second.rules, shape);
                return {spec, v->first, v->second.rules[k].text(), v->second.fns[k]};
            }
        }
    }
    const JitProvider jit = provider();
    if (policy != KernelPolicy::aot_only && jit.compile) {
        std::size_t k = 0;
        ShapeRule rule;
        {
            std::unique_lock lock(r.mutex);
            auto it = r.jit_kernels.find({text, best});
            if (it == r.jit_kernels.end()) {
                lock.unlock();
                Variants fresh;
                for (const std::string &rule_text : jit.shape_rules(spec, best)) fresh.add(ShapeRule::parse(rule_text), nullptr);
                lock.lock();
                it = r.jit_kernels.emplace(std::make_pair(text, best), std::move(fresh)).first;
            }
            k = select_variant(it->second.rules, shape);
            rule = it->second.rules[k];
            if (KernelFn fn = it->second.fns[k]) return {spec, best, rule.text(), fn, true};
        }
        // The engine compiles each variant once, however many threads ask at the same time.
        KernelFn fn = jit.compile(spec, best, k);
        std::lock_guard lock(r.mutex);
        r.jit_kernels[{text, best}].fns[k] = fn;
        return {spec, best, rule.text(), fn, true};
    }
    if (aot_spec_known) {
        throw Error(ErrorCode::no_kernel,
                    fmt::format("spec '{}' has no variant this CPU can run (best ISA here: {}); "
                                "build it for the sse41 target too, or allow JIT",
                                text, to_string(best)));
    }
    throw Error(ErrorCode::no_kernel,
                fmt::format("no kernel registered for spec '{}': add it to the specs given to "
                            "reluforge-gen or reluforge_add_kernels{}",
                            text,
                            policy == KernelPolicy::aot_only ? " (the kernel policy is aot_only)"
                                                             : ", or enable the JIT (reluforge::jit::enable)"));
}

bool has_kernel(const KernelSpec &spec) {
    auto &r = registry();
    std::lock_guard lock(r.mutex);
    const std::string text = to_string(spec);
    return r.kernels.count(text) != 0 || r.cuda_kernels.count(text) != 0 || r.opencl_kernels.count(text) != 0;
}

std::vector<Isa> registered_isas(const KernelSpec &spec) {
    auto &r = registry();
    std::lock_guard lock(r.mutex);
    std::vector<Isa> out;
    auto it = r.kernels.find(to_string(spec));
    if (it != r.kernels.end()) {
        for (const auto &[isa, variants] : it->second) out.push_back(isa);
    }
    return out;
}

std::vector<VariantInfo> registered_variants() {
    auto &r = registry();
    std::lock_guard lock(r.mutex);
    std::vector<VariantInfo> out;
    for (const auto &[text, by_isa] : r.kernels) {
        for (const auto &[isa, variants] : by_isa) {
            for (const ShapeRule &rule : variants.rules) out.push_back({text, isa, rule.text()});
        }
    }
    for (const auto &[text, by_capability] : r.cuda_kernels) {
        for (const auto &[capability, variants] : by_capability) {
            for (std::size_t v = 0; v < variants.rules.size(); v++) {
                out.push_back({text, Isa::sse41, variants.rules[v].text(), capability, Device::cuda, variants.needs[v]});
            }
        }
    }
    for (const auto &[text, variants] : r.opencl_kernels) {
        for (std::size_t v = 0; v < variants.rules.size(); v++) {
            out.push_back({text, Isa::sse41, variants.rules[v].text(), 0, Device::opencl, variants.needs[v]});
        }
    }
    return out;
}

}  // namespace reluforge
