// The CPU kernel lookup behind find_kernel, for run_kernel, which already holds the spec's
// canonical text: formatting it took a third of a small call's overhead (Linear::forward at
// 1x1x1 spent ~2.3 us per call, most of it building strings).
#pragma once

#include "reluforge/registry.h"

#include <string>

namespace reluforge {

// find_kernel(spec, shape, Device::cpu), with text == to_string(spec).
KernelHandle find_cpu_kernel(const KernelSpec &spec, const std::string &text, const Shape &shape);

}  // namespace reluforge
