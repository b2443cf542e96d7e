// The default schedule of every kernel, by ISA (shape buckets come with tuning).
#pragma once

#include "reluforge/registry.h"
#include "reluforge/schedules/cpu_schedule.h"
#include "reluforge/spec.h"

namespace reluforge::sched {

CpuSchedule default_cpu_schedule(const KernelSpec &spec, Isa isa);

}  // namespace reluforge::sched
