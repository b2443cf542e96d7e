// Which variant of a kernel a call runs, for the registry, the JIT engine and the default
// schedule table alike, and the hooks that let the tests run every variant on one machine.
#pragma once

#include "reluforge/gpu_limits.h"
#include "reluforge/isa.h"
#include "reluforge/tensor.h"
#include "reluforge/shape_rule.h"

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace reluforge {

// The index of the first rule that holds for shape (the last rule must be ""), or of the rule
// forced by force_shape_rule.
std::size_t select_variant(const std::vector<ShapeRule> &rules, const Shape &shape);
// The same on a CPU of the given kind, nothing forced.
std::size_t select_variant(const std::vector<ShapeRule> &rules, const Shape &shape, CpuKind cpu);

// For testing every variant on one machine: while set, a spec with a variant of exactly this
// rule runs that variant whatever the call's shape (other specs choose as usual).
void force_shape_rule(std::optional<std::string> rule);

struct VariantInfo {
    std::string spec;
    Isa isa;
    std::string shape_rule;
    int cuda_capability = 0;  // 0 for CPU variants
    Device device = Device::cpu;
    GpuNeeds gpu_needs{};  // GPU variants: what their schedule asks of the device
};
std::vector<VariantInfo> registered_variants();  // the AOT registry: CPU, CUDA, then OpenCL variants

}  // namespace reluforge
