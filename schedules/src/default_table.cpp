#include "reluforge/schedules/default_table.h"

namespace reluforge::sched {

CpuSchedule default_cpu_schedule(const KernelSpec &, Isa isa) {
    switch (isa) {
    case Isa::avx512:
        // 3 zmm x 8 rows = 24 accumulators of 32 registers: the inner loop is 24 vfmadd231ps.
        // reluforge-bench, 1 thread, on this project's machines (AMD EPYC, measured FMA peak
        // 112-117 GFLOP/s): fused relu 93 GFLOP/s (80%) at 512^3, 90 (77%) at 1024^3, 97 (83%)
        // at 2048^3; 0.94-0.98x oneDNN 2.6's matmul with a relu post-op.
        return {3, 8, 64, 16};
    case Isa::avx2:
    case Isa::sse41:
        // 2 vectors x 6 rows = 12 accumulators of 16 registers, leaving room for the operand
        // vectors and the broadcast. Chosen by register budget; not yet measured here.
        return {2, 6, 48, 16};
    }
    return {};
}

}  // namespace reluforge::sched
