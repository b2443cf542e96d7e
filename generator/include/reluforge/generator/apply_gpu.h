// Applying GPU schedules to algorithms, for Halide's host-cuda and host-opencl targets alike (the
// schedule is the same; only the target differs).
#pragma once

#include "reluforge/generator/algorithm.h"
#include "reluforge/schedules/gpu_schedule.h"

#include <Halide.h>

namespace reluforge::gen {

// CUDA capabilities Halide 14 can target: 30 32 35 50 61 70 75 80 86. Throws Error(bad_argument).
Halide::Target cuda_target(int capability);

// OpenCL (AMD and Intel GPUs, pocl on the CPU); with f16 storage, cl_khr_fp16 (Target::CLHalf).
Halide::Target opencl_target(DType dtype);

// Applies s to a for a GPU target; valid for every M, N, K >= 1. Throws Error(bad_argument) for
// an invalid s.
void apply_gpu_schedule(Algorithm &a, const sched::GpuSchedule &s);

}  // namespace reluforge::gen
