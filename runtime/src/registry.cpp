#include "reluforge/registry.h"

#include "reluforge/error.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <mutex>

namespace reluforge {
namespace {

struct Registry {
    std::mutex mutex;
    std::map<std::string, std::map<Isa, KernelFn>, std::less<>> kernels;
};

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

KernelHandle find_kernel(const KernelSpec &spec) {
    const std::string text = to_string(spec);
    const Isa best = std::min(host_isa(), isa_limit());
    auto &r = registry();
    std::lock_guard lock(r.mutex);
    auto it = r.kernels.find(text);
    if (it == r.kernels.end()) {
        throw Error(ErrorCode::no_kernel,
                    fmt::format("no kernel registered for spec '{}': add it to the specs given to "
                                "reluforge-gen or reluforge_add_kernels",
                                text));
    }
    for (auto v = it->second.rbegin(); v != it->second.rend(); ++v) {
        if (v->first <= best) return {text, v->first, v->second};
    }
    throw Error(ErrorCode::no_kernel,
                fmt::format("spec '{}' has no variant this CPU can run (best ISA here: {}); "
                            "build it for the sse41 target too",
                            text, to_string(best)));
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
