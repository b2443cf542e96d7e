#include "reluforge/registry.h"

#include "reluforge/error.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>

namespace reluforge {
namespace {

struct Registry {
    std::mutex mutex;
    std::map<std::string, std::map<Isa, KernelFn>, std::less<>> kernels;
    // JIT kernels by spec and the ISA cap they were built under.
    std::map<std::pair<std::string, Isa>, KernelFn> jit_kernels;
};

std::atomic<KernelPolicy> g_policy{KernelPolicy::jit_allowed};
std::atomic<KernelProvider> g_provider{nullptr};

Registry &registry() {
    static Registry r;  // constructed on first use, so static registration order does not matter
    return r;
}

}  // namespace

bool register_kernels(const KernelEntry *entries, std::size_t count) {
    auto &r = registry();
    std::lock_guard lock(r.mutex);
    for (std::size_t k = 0; k < count; k++) r.kernels[entries[k].spec][entries[k].isa] = entries[k].fn;
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
void set_jit_provider(KernelProvider provider) { g_provider = provider; }

KernelHandle find_kernel(const KernelSpec &spec) {
    const std::string text = to_string(spec);
    const Isa best = std::min(host_isa(), isa_limit());
    const KernelPolicy policy = g_policy;
    auto &r = registry();
    bool aot_spec_known = false;
    if (policy != KernelPolicy::jit_only) {
        std::lock_guard lock(r.mutex);
        if (auto it = r.kernels.find(text); it != r.kernels.end()) {
            aot_spec_known = true;
            for (auto v = it->second.rbegin(); v != it->second.rend(); ++v) {
                if (v->first <= best) return {text, v->first, v->second};
            }
        }
    }
    const KernelProvider provider = g_provider;
    if (policy != KernelPolicy::aot_only && provider) {
        {
            std::lock_guard lock(r.mutex);
            if (auto it = r.jit_kernels.find({text, best}); it != r.jit_kernels.end()) {
                return {text, best, it->second, true};
            }
        }
        KernelHandle h = provider(spec, best);
        std::lock_guard lock(r.mutex);
        r.jit_kernels.emplace(std::make_pair(text, best), h.fn);
        return h;
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
    return r.kernels.count(to_string(spec)) != 0;
}

std::vector<std::string> registered_specs() {
    auto &r = registry();
    std::lock_guard lock(r.mutex);
    std::vector<std::string> out;
    for (const auto &[text, variants] : r.kernels) out.push_back(text);
    return out;
}

std::vector<Isa> registered_isas(const KernelSpec &spec) {
    auto &r = registry();
    std::lock_guard lock(r.mutex);
    std::vector<Isa> out;
    auto it = r.kernels.find(to_string(spec));
    if (it != r.kernels.end()) {
        for (const auto &[isa, fn] : it->second) out.push_back(isa);
    }
    return out;
}

}  // namespace reluforge
