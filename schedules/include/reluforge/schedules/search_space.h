// The schedules reluforge-tune searches: every legal value of each knob of CpuSchedule for a
// kernel and target, with invalid combinations rejected before anything compiles.
#pragma once

#include "reluforge/isa.h"
#include "reluforge/schedules/cpu_schedule.h"
#include "reluforge/spec.h"

#include <vector>

namespace reluforge::sched {

int vector_registers(Isa isa);  // 32 zmm with AVX-512, else 16

// In a fixed order (the tuner shuffles and shards it); the default table's schedules included.
std::vector<CpuSchedule> cpu_search_space(const KernelSpec &spec, Isa isa);

// reluforge-tune --quick: the neighbourhood of the default schedule for one shape that most often
// held the winner of a whole search (other register blocks of the same budget, half and double
// the task rows, the other loop order and accumulator placement): a dozen candidates, for a
// CPU no default-table entry was measured on.
std::vector<CpuSchedule> cpu_quick_space(const KernelSpec &spec, Isa isa, const CpuSchedule &around);

}  // namespace reluforge::sched
