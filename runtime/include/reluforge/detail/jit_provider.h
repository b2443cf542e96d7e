// How the JIT engine (reluforge::jit::enable) plugs into the registry: the runtime asks it on a
// registry miss when the kernel policy allows JIT. Both functions throw Error.
#pragma once

#include "reluforge/isa.h"
#include "reluforge/registry.h"

#include <cstddef>
#include <string>
#include <vector>

namespace reluforge {

struct JitProvider {
    // The shape rules of the spec's variants on isa, in the order they are tried; the last is "".
    std::vector<std::string> (*shape_rules)(const KernelSpec &spec, Isa isa);
    // Compiles (or loads) the variant with index `variant` in that list.
    KernelFn (*compile)(const KernelSpec &spec, Isa isa, std::size_t variant);
    // Compiles (or loads) the CUDA kernel for a build capability (see cuda_capability.h).
    KernelFn (*compile_cuda)(const KernelSpec &spec, int capability);
};
void set_jit_provider(JitProvider provider);

}  // namespace reluforge
