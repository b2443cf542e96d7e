// CUDA schedules as plain values, and the default table (no Halide here; apply_cuda.h applies
// them).
#pragma once

#include "reluforge/spec.h"

#include <string>

namespace reluforge::sched {

struct CudaSchedule {
    int block_cols = 64;  // output tile of one thread block: block_cols x block_rows
    int block_rows = 64;
    int thread_cols = 4;  // each thread's register block: thread_cols x thread_rows accumulators,
    int thread_rows = 4;  // strided by the thread counts so that neighbouring threads touch
                          // neighbouring columns (coalesced stores, conflict-free shared reads)
    int k_tile = 16;      // reduction depth staged in shared memory per step; 0 reads global memory
    int pass_cols = 32;   // elementwise passes and column sums: threads per block along columns
    int pass_rows = 8;

    bool operator==(const CudaSchedule &o) const {
        return block_cols == o.block_cols && block_rows == o.block_rows && thread_cols == o.thread_cols &&
               thread_rows == o.thread_rows && k_tile == o.k_tile && pass_cols == o.pass_cols &&
               pass_rows == o.pass_rows;
    }
    int threads() const { return (block_cols / thread_cols) * (block_rows / thread_rows); }
};

// Canonical text, e.g. "cuda:block=64x64:thread=4x4:k=16:pass=32x8".
std::string to_string(const CudaSchedule &s);
// Parses the canonical text; throws Error(bad_argument) naming what is wrong.
CudaSchedule parse_cuda_schedule(const std::string &text);
// Why s cannot be applied ("" when it can): thread counts, divisibility, shared memory.
std::string cuda_schedule_problem(const CudaSchedule &s);

// The default table's schedule for spec.
CudaSchedule default_cuda_schedule(const KernelSpec &spec);

}  // namespace reluforge::sched
