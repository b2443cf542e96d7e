#include "reluforge/schedules/search_space.h"

#include "reluforge/schedules/default_table.h"
#include "reluforge/signature.h"

#include <algorithm>

namespace reluforge::sched {

int vector_registers(Isa isa) { return isa == Isa::avx512 ? 32 : 16; }

std::vector<CpuSchedule> cpu_search_space(const KernelSpec &spec, Isa isa) {
    std::vector<CpuSchedule> out;
    auto add = [&](const CpuSchedule &s) {
        if (cpu_schedule_problem(s, vector_registers(isa)).empty() && std::find(out.begin(), out.end(), s) == out.end()) {
            out.push_back(s);
        }
    };
    for (const auto &choice : default_cpu_schedules(spec, isa)) add(choice.schedule);
    if (spec.op == Op::activation_backward) {
        // Elementwise only: the pass's row tasks are the one knob.
        CpuSchedule s = default_cpu_schedules(spec, isa).back().schedule;
        for (int rows : {4, 8, 16, 32, 64, 128}) {
            s.pass_rows = rows;
            add(s);
        }
        return out;
    }
    const bool transposed_read = reads_weight_transposed(spec);
    const int regs = vector_registers(isa);
    for (int v = 1; v <= 6; v++) {
        for (int r = 1; r <= 14; r++) {
            // Fewer than 8 accumulators cannot cover the FMA latency on two pipes.
            if (v * r < 8 || v * r + v + 1 > regs) continue;
            for (int tasks : {1, 2, 4, 8, 16, 32}) {
                if (r * tasks > 384) continue;
                for (bool rows_outer : {false, true}) {
                    for (bool stage_lhs : {false, true}) {
                        if (stage_lhs && spec.op != Op::backward_weight) continue;
                        for (bool transpose : {false, true}) {
                            if (transpose && !transposed_read) continue;
                            add({v, r, r * tasks, 16, rows_outer, stage_lhs, transpose});
                            // Accumulators per task pay where the epilogue is expensive.
                            if (!rows_outer) add({v, r, r * tasks, 16, rows_outer, stage_lhs, transpose, true});
                        }
                    }
                }
            }
        }
    }
    return out;
}

}  // namespace reluforge::sched
