// Where the harness runs its layers: host memory with f32 storage (the default), f16 storage, or
// CUDA or OpenCL device memory. The harness builds host tensors; a Mirror hands the kernels copies in the
// placement's dtype and memory, and brings the outputs back for comparison.
#pragma once

#include "reluforge/cuda.h"
#include "reluforge/opencl.h"
#include "reluforge/tensor.h"

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

namespace cases {

struct Placement {
    reluforge::Device device = reluforge::Device::cpu;
    reluforge::DType dtype = reluforge::DType::f32;  // storage of every matrix (vectors stay f32)
};

void set_placement(Placement p);
Placement placement();

// IEEE binary16 conversions, round to nearest even (independent of the kernels' conversions).
std::uint16_t to_half(float f);
float from_half(std::uint16_t h);

// Rounds values to the placement's storage dtype, in place (nothing to do for f32).
void round_to_storage(std::vector<float> &values);

class Mirror {
public:
    // An input as the kernel reads it. With f16 storage the host data is rounded to f16 in place
    // first, so that the reference sees exactly the values the kernel reads.
    reluforge::Tensor in(const reluforge::Tensor &host);
    // An output: its initial contents go along (sentinels must survive), and finish() copies it
    // back into the host tensor.
    reluforge::Tensor out(const reluforge::Tensor &host);
    void finish();

private:
    struct Copy {
        reluforge::Tensor host, placed;
        std::vector<std::uint16_t> halves;  // f16 storage on the host
        std::unique_ptr<reluforge::cuda::DeviceBuffer> device;
        std::unique_ptr<reluforge::opencl::DeviceBuffer> opencl;
        bool output = false;
    };
    std::map<const void *, Copy> copies_;
    Copy &place(const reluforge::Tensor &host);
};

}  // namespace cases
