// CUDA schedules as plain values, and the function that applies them (Halide's host-cuda target).
#pragma once

#include "reluforge/generator/algorithm.h"

#include <Halide.h>

#include <string>

namespace reluforge::sched {

struct CudaSchedule {
    int block_cols = 64;  // output tile of one thread block: block_cols x block_rows
    int block_rows = 32;
    int thread_cols = 4;  // each thread's register block: thread_cols x thread_rows accumulators
    int thread_rows = 4;
    int pass_cols = 32;   // elementwise passes and column sums: threads per block along columns
    int pass_rows = 8;

    bool operator==(const CudaSchedule &o) const {
        return block_cols == o.block_cols && block_rows == o.block_rows && thread_cols == o.thread_cols &&
               thread_rows == o.thread_rows && pass_cols == o.pass_cols && pass_rows == o.pass_rows;
    }
};

// Canonical text, e.g. "cuda:block=64x32:thread=4x4:pass=32x8".
std::string to_string(const CudaSchedule &s);
// Why s cannot be applied ("" when it can): thread counts, divisibility.
std::string cuda_schedule_problem(const CudaSchedule &s);

// CUDA capabilities Halide 14 can target: 30 32 35 50 61 70 75 80 86. Throws Error(bad_argument).
Halide::Target cuda_target(int capability);

// Applies s to a for a CUDA target; valid for every M, N, K >= 1.
void apply_cuda_schedule(gen::Algorithm &a, const CudaSchedule &s);

}  // namespace reluforge::sched
