#include "reluforge/schedules/gpu_schedule.h"

#include "reluforge/error.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

namespace reluforge::sched {

std::string to_string(const GpuSchedule &s) {
    return fmt::format("gpu:block={}x{}:thread={}x{}:k={}:pass={}x{}", s.block_cols, s.block_rows, s.thread_cols,
                       s.thread_rows, s.k_tile, s.pass_cols, s.pass_rows);
}

GpuSchedule parse_gpu_schedule(const std::string &text) {
    GpuSchedule s;
    char tail = 0;
    const char *fields = text.rfind("cuda:", 0) == 0 ? text.c_str() + 5 : text.rfind("gpu:", 0) == 0 ? text.c_str() + 4 : "";
    if (std::sscanf(fields, "block=%dx%d:thread=%dx%d:k=%d:pass=%dx%d%c", &s.block_cols, &s.block_rows,
                    &s.thread_cols, &s.thread_rows, &s.k_tile, &s.pass_cols, &s.pass_rows, &tail) != 7) {
        throw Error(ErrorCode::bad_argument,
                    fmt::format("bad GPU schedule '{}': expected gpu:block=CxR:thread=CxR:k=D:pass=CxR", text));
    }
    if (std::string problem = gpu_schedule_problem(s); !problem.empty()) {
        throw Error(ErrorCode::bad_argument, fmt::format("bad GPU schedule '{}': {}", text, problem));
    }
    return s;
}

std::string gpu_schedule_problem(const GpuSchedule &s) {
    if (s.block_cols < 1 || s.block_rows < 1 || s.thread_cols < 1 || s.thread_rows < 1 || s.pass_cols < 1 ||
        s.pass_rows < 1 || s.k_tile < 0) {
        return "every size must be at least 1 (k at least 0)";
    }
    if (s.block_cols % s.thread_cols || s.block_rows % s.thread_rows) {
        return fmt::format("block {}x{} is not a multiple of the thread block {}x{}", s.block_cols, s.block_rows,
                           s.thread_cols, s.thread_rows);
    }
    // Far beyond any device's limits; keeps the products below from overflowing.
    if (s.block_cols > 4096 || s.block_rows > 4096 || s.k_tile > 4096 || s.pass_cols > 4096 || s.pass_rows > 4096) {
        return "a size above 4096";
    }
    if (s.thread_cols * s.thread_rows > 128) return "more than 128 accumulators per thread (they would spill)";
    return "";
}

GpuNeeds gpu_needs(const GpuSchedule &s, const KernelSpec &spec) {
    // Passes run pass_cols x pass_rows blocks; column sums run blocks of that many along x.
    const std::int64_t pass = std::int64_t(s.pass_cols) * s.pass_rows;
    GpuNeeds n{pass, pass, s.pass_rows, 0};
    if (spec.op != Op::activation_backward) {
        const std::int64_t tx = s.block_cols / s.thread_cols, ty = s.block_rows / s.thread_rows;
        n.work_items = std::max(n.work_items, tx * ty);
        n.extent_x = std::max(n.extent_x, tx);
        n.extent_y = std::max(n.extent_y, ty);
        // Both panels, staged as f32 (f16 storage stages half as much).
        n.local_bytes = std::int64_t(s.k_tile) * (s.block_cols + s.block_rows) * 4;
    }
    return n;
}

// The default table. Not yet measured on a GPU (the H100 runs wait; see the CUDA benchmark in
// bench/): 64x64 blocks of 256 threads with 4x4 register blocks and 16-deep shared panels is the
// classic SGEMM layout; ptxas reports 55-64 registers for the matmul kernels (12-32 for the
// elementwise ones) and no spills for every default kernel on sm_80 and sm_90 (tests/cuda/check_ptx.sh prints them).
GpuSchedule default_gpu_schedule(const KernelSpec &) { return GpuSchedule{}; }

}  // namespace reluforge::sched
