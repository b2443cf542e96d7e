#include "reluforge/gpu_limits.h"

#include <fmt/format.h>

namespace reluforge {

GpuLimits cuda_limits() { return {1024, 1024, 1024, 48 * 1024}; }

std::string gpu_limits_problem(const GpuNeeds &needs, const GpuLimits &limits) {
    std::string problem;
    auto add = [&problem](const std::string &what) { problem += (problem.empty() ? "" : "; ") + what; };
    if (needs.work_items > limits.max_work_items) {
        add(fmt::format("work-groups of {} work-items where the device allows {}", needs.work_items,
                        limits.max_work_items));
    }
    if (needs.extent_x > limits.max_extent_x || needs.extent_y > limits.max_extent_y) {
        add(fmt::format("work-groups up to {}x{} where the device allows {}x{}", needs.extent_x, needs.extent_y,
                        limits.max_extent_x, limits.max_extent_y));
    }
    if (needs.local_bytes > limits.local_bytes) {
        add(fmt::format("{} bytes of local memory per work-group where the device has {}", needs.local_bytes,
                        limits.local_bytes));
    }
    return problem;
}

}  // namespace reluforge
