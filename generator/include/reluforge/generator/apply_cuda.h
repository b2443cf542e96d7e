// Applying CUDA schedules to algorithms for Halide's host-cuda target.
#pragma once

#include "reluforge/generator/algorithm.h"
#include "reluforge/schedules/cuda_schedule.h"

#include <Halide.h>

namespace reluforge::gen {

// CUDA capabilities Halide 14 can target: 30 32 35 50 61 70 75 80 86. Throws Error(bad_argument).
Halide::Target cuda_target(int capability);

// Applies s to a for a CUDA target; valid for every M, N, K >= 1. Throws Error(bad_argument) for
// an invalid s.
void apply_cuda_schedule(Algorithm &a, const sched::CudaSchedule &s);

}  // namespace reluforge::gen
