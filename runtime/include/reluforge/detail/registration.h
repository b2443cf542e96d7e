// What generated registration code calls (reluforge-gen's <name>_registration.cpp): not for
// programs to call themselves.
#pragma once

#include "reluforge/gpu_limits.h"
#include "reluforge/isa.h"
#include "reluforge/registry.h"

#include <cstddef>

namespace reluforge {

struct KernelEntry {
    const char *spec;        // canonical text
    Isa isa;                 // CPU kernels: the ISA; CUDA kernels: that of their host code
    const char *shape_rule;  // canonical ShapeRule text; "" for every shape
    KernelFn fn;
    int cuda_capability = 0;  // 0 for CPU kernels; else the capability of the CUDA kernel
    Device device = Device::cpu;  // Device::opencl for OpenCL kernels (CUDA ones: the capability says)
    GpuNeeds gpu_needs{};         // GPU kernels: what their schedule asks of the device
};

// Called at static-initialization time; adds every variant of every spec a library holds.
bool register_kernels(const KernelEntry *entries, std::size_t count);

}  // namespace reluforge
