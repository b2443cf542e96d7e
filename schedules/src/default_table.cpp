#include "reluforge/schedules/default_table.h"

namespace reluforge::sched {

CpuSchedule default_cpu_schedule(const KernelSpec &, Isa isa) {
    switch (isa) {
    case Isa::avx512:
        // 3 zmm x 8 rows = 24 accumulators of 32 registers: the inner loop is 24 vfmadd231ps.
        // perf-notes.md: 215-217 GFLOP/s (93-94% of peak) at 512^3 fused forward with this block.
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
