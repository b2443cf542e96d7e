// Tensors put in a kernel's signature order by the names of its slots, for the runtime's calls
// of kernels whose signature depends on the spec (Linear's calls).
#pragma once

#include "reluforge/signature.h"
#include "reluforge/tensor.h"

#include <algorithm>
#include <initializer_list>
#include <string_view>
#include <utility>
#include <vector>

namespace reluforge {

// A slot with no tensor of its name gets an empty one (run_kernel then says it is missing).
using NamedTensors = std::initializer_list<std::pair<std::string_view, Tensor>>;
inline std::vector<Tensor> in_signature_order(const KernelSpec &spec, NamedTensors named) {
    std::vector<Tensor> args;
    for (const ArgSlot &slot : kernel_signature(spec)) {
        const auto it = std::find_if(named.begin(), named.end(), [&](const auto &n) { return n.first == slot.name; });
        args.push_back(it == named.end() ? Tensor{} : it->second);
    }
    return args;
}

}  // namespace reluforge
