#include "reluforge/schedules/cuda_schedule.h"

#include "reluforge/error.h"

#include <fmt/format.h>

#include <cstdio>

namespace reluforge::sched {

std::string to_string(const CudaSchedule &s) {
    return fmt::format("cuda:block={}x{}:thread={}x{}:k={}:pass={}x{}", s.block_cols, s.block_rows, s.thread_cols,
                       s.thread_rows, s.k_tile, s.pass_cols, s.pass_rows);
}

CudaSchedule parse_cuda_schedule(const std::string &text) {
    CudaSchedule s;
    char tail = 0;
    if (std::sscanf(text.c_str(), "cuda:block=%dx%d:thread=%dx%d:k=%d:pass=%dx%d%c", &s.block_cols, &s.block_rows,
                    &s.thread_cols, &s.thread_rows, &s.k_tile, &s.pass_cols, &s.pass_rows, &tail) != 7) {
        throw Error(ErrorCode::bad_argument,
                    fmt::format("bad CUDA schedule '{}': expected cuda:block=CxR:thread=CxR:k=D:pass=CxR", text));
    }
    if (std::string problem = cuda_schedule_problem(s); !problem.empty()) {
        throw Error(ErrorCode::bad_argument, fmt::format("bad CUDA schedule '{}': {}", text, problem));
    }
    return s;
}

std::string cuda_schedule_problem(const CudaSchedule &s) {
    if (s.block_cols < 1 || s.block_rows < 1 || s.thread_cols < 1 || s.thread_rows < 1 || s.pass_cols < 1 ||
        s.pass_rows < 1 || s.k_tile < 0) {
        return "every size must be at least 1 (k at least 0)";
    }
    if (s.block_cols % s.thread_cols || s.block_rows % s.thread_rows) {
        return fmt::format("block {}x{} is not a multiple of the thread block {}x{}", s.block_cols, s.block_rows,
                           s.thread_cols, s.thread_rows);
    }
    if (s.threads() > 1024 || s.pass_cols * s.pass_rows > 1024) return "more than 1024 threads per block";
    if (s.thread_cols * s.thread_rows > 128) return "more than 128 accumulators per thread (they would spill)";
    // Both staged panels, f32, within the 48 KiB every capability gives a block.
    if (s.k_tile * (s.block_cols + s.block_rows) * 4 > 48 * 1024) return "staged panels exceed 48 KiB of shared memory";
    return "";
}

// The default table. Not yet measured on a GPU (the H100 runs wait; see the CUDA benchmark in
// bench/): 64x64 blocks of 256 threads with 4x4 register blocks and 16-deep shared panels is the
// classic SGEMM layout; ptxas reports 55-64 registers for the matmul kernels (12-32 for the
// elementwise ones) and no spills for every default kernel on sm_80 and sm_90 (tests/cuda/check_ptx.sh prints them).
CudaSchedule default_cuda_schedule(const KernelSpec &) { return CudaSchedule{}; }

}  // namespace reluforge::sched
