// GPU schedules as plain values, one for CUDA and OpenCL alike, and the default table (no Halide
// here; apply_gpu.h applies them).
#pragma once

#include "reluforge/gpu_limits.h"
#include "reluforge/spec.h"

#include <string>

namespace reluforge::sched {

struct GpuSchedule {
    int block_cols = 64;  // output tile of one thread block: block_cols x block_rows
    int block_rows = 64;
    int thread_cols = 4;  // each thread's register block: thread_cols x thread_rows accumulators,
    int thread_rows = 4;  // strided by the thread counts so that neighbouring threads touch
                          // neighbouring columns (coalesced stores, conflict-free shared reads)
    int k_tile = 16;      // reduction depth staged in shared memory per step; 0 reads global memory
    int pass_cols = 32;   // elementwise passes and column sums: threads per block along columns
    int pass_rows = 8;

    bool operator==(const GpuSchedule &o) const {
        return block_cols == o.block_cols && block_rows == o.block_rows && thread_cols == o.thread_cols &&
               thread_rows == o.thread_rows && k_tile == o.k_tile && pass_cols == o.pass_cols &&
               pass_rows == o.pass_rows;
    }
    int threads() const { return (block_cols / thread_cols) * (block_rows / thread_rows); }
};

// Canonical text, e.g. "gpu:block=64x64:thread=4x4:k=16:pass=32x8".
std::string to_string(const GpuSchedule &s);
// Parses the canonical text ("cuda:" for "gpu:" too, the older spelling); throws
// Error(bad_argument) naming what is wrong.
GpuSchedule parse_gpu_schedule(const std::string &text);
// Why s cannot be applied on any device ("" when it can): sizes, divisibility, accumulators per
// thread. What a particular device allows is checked against gpu_needs.
std::string gpu_schedule_problem(const GpuSchedule &s);

// The largest work-group and the local memory spec's kernel asks for under s: the matmul's thread
// blocks and staged panels (every op but activation_backward), the passes' and column sums'
// blocks (any op may have them).
GpuNeeds gpu_needs(const GpuSchedule &s, const KernelSpec &spec);

// The default table's schedule for spec.
GpuSchedule default_gpu_schedule(const KernelSpec &spec);

}  // namespace reluforge::sched
