// What a GPU kernel's schedule asks of a device (work-group shape, local memory), what a device
// offers, and the check between the two: the same for CUDA and OpenCL. CUDA's limits are the same
// on every capability, so CUDA kernels are checked when they are generated; OpenCL devices report
// theirs, so OpenCL kernels are checked before they first run (find_kernel).
#pragma once

#include <cstdint>
#include <string>

namespace reluforge {

struct GpuNeeds {
    std::int64_t work_items = 0;   // the largest work-group (thread block) among the kernel's stages
    std::int64_t extent_x = 0;     // the largest extent of a work-group along x (columns) ...
    std::int64_t extent_y = 0;     // ... and along y (rows)
    std::int64_t local_bytes = 0;  // local (CUDA: shared) memory one work-group stages, at most
};

struct GpuLimits {
    std::int64_t max_work_items = 0;  // OpenCL CL_DEVICE_MAX_WORK_GROUP_SIZE; CUDA threads per block
    std::int64_t max_extent_x = 0;    // CL_DEVICE_MAX_WORK_ITEM_SIZES[0] and [1]
    std::int64_t max_extent_y = 0;
    std::int64_t local_bytes = 0;     // CL_DEVICE_LOCAL_MEM_SIZE; CUDA static shared memory per block
};

// Every CUDA capability: 1024 threads per block (at most 1024 along x and y), 48 KiB of static
// shared memory per block.
GpuLimits cuda_limits();

// "" when needs fit limits; otherwise every limit exceeded, e.g. "work-groups of 256 work-items
// where the device allows 128".
std::string gpu_limits_problem(const GpuNeeds &needs, const GpuLimits &limits);

}  // namespace reluforge
