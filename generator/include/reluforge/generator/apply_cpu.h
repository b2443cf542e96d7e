// Applying a CPU schedule value to an algorithm for an x86 target.
#pragma once

#include "reluforge/generator/algorithm.h"
#include "reluforge/isa.h"
#include "reluforge/schedules/cpu_schedule.h"

#include <Halide.h>

namespace reluforge::gen {

// The x86 target of one ISA variant, for kernels linked against reluforge's one Halide runtime.
Halide::Target x86_target(Isa isa);

// Applies s to a; valid for every M, N, K >= 1.
void apply_cpu_schedule(Algorithm &a, const sched::CpuSchedule &s, const Halide::Target &t);

}  // namespace reluforge::gen
