// The default schedules of every kernel, by ISA and shape bucket.
#pragma once

#include "reluforge/isa.h"
#include "reluforge/shape_rule.h"
#include "reluforge/schedules/cpu_schedule.h"
#include "reluforge/spec.h"

#include <string>
#include <vector>

namespace reluforge::sched {

struct ScheduleChoice {
    std::string shape_rule;  // canonical ShapeRule text; "" for every shape
    CpuSchedule schedule;
};

// Whether CpuSchedule::transposed_product changes spec's kernel: backward_data and
// backward_weight over [K,N] weights.
bool has_transposed_product(const KernelSpec &spec);

// The variants of spec on isa, in the order the runtime tries their rules; the last is for every
// shape. Each variant becomes one compiled kernel.
std::vector<ScheduleChoice> default_cpu_schedules(const KernelSpec &spec, Isa isa);

// The index of the variant a call of this shape runs (select_variant over the table's rules).
std::size_t variant_for(const std::vector<ScheduleChoice> &table, const Shape &shape);

// The variants of table that calls of these shapes run on any kind of CPU, and the last (for
// every shape), in table order: all a library needs whose program calls only these shapes, which
// choose among them as among the whole table.
std::vector<ScheduleChoice> variants_for_shapes(const std::vector<ScheduleChoice> &table,
                                                const std::vector<Shape> &shapes);

// The variant default_cpu_schedules would run for shape.
CpuSchedule default_cpu_schedule(const KernelSpec &spec, Isa isa, const Shape &shape = {});

}  // namespace reluforge::sched
