// reluforge's public API: kernel specs, tensor views, the kernel registry, the fused layer and
// CUDA devices.
#pragma once

#include "reluforge/cuda.h"
#include "reluforge/cuda_capability.h"
#include "reluforge/error.h"
#include "reluforge/linear.h"
#include "reluforge/opencl.h"
#include "reluforge/packed_weights.h"
#include "reluforge/registry.h"
#include "reluforge/signature.h"
#include "reluforge/spec.h"
#include "reluforge/tensor.h"

namespace reluforge {
constexpr const char *version = "0.1.0";
}
