// The CUDA capabilities kernels can be built for (Halide 14's list), and which one a device runs.
#pragma once

namespace reluforge {

// Compute capabilities as major * 10 + minor. Newer GPUs (Hopper: 90) run the PTX of the
// highest one, which the driver compiles for them.
inline constexpr int kCudaCapabilities[] = {30, 32, 35, 50, 61, 70, 75, 80, 86};

// The highest buildable capability a device of capability `device` runs; 0 when none.
constexpr int cuda_build_capability(int device) {
    int best = 0;
    for (int c : kCudaCapabilities) {
        if (c <= device) best = c;
    }
    return best;
}

constexpr bool is_cuda_build_capability(int c) {
    for (int k : kCudaCapabilities) {
        if (k == c) return true;
    }
    return false;
}

}  // namespace reluforge
