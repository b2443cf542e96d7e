// CPU schedules as plain values, and the one function that applies them to an algorithm.
#pragma once

#include "reluforge/generator/algorithm.h"
#include "reluforge/registry.h"

#include <Halide.h>

#include <string>

namespace reluforge::sched {

struct CpuSchedule {
    int block_vectors = 3;  // register block: block_vectors SIMD vectors wide ...
    int block_rows = 8;     // ... by block_rows rows; block_vectors * block_rows accumulators
    int task_rows = 64;     // rows of one parallel task (a multiple of block_rows)
    int pass_rows = 16;     // rows of one parallel task of the elementwise passes

    bool operator==(const CpuSchedule &o) const {
        return block_vectors == o.block_vectors && block_rows == o.block_rows &&
               task_rows == o.task_rows && pass_rows == o.pass_rows;
    }
};

// Canonical text, e.g. "cpu:block=3x8:task_rows=64:pass_rows=16".
std::string to_string(const CpuSchedule &s);

// The x86 target of one ISA variant, for kernels linked against reluforge's one Halide runtime.
Halide::Target x86_target(Isa isa);

// Applies s to a; valid for every M, N, K >= 1.
void apply_cpu_schedule(gen::Algorithm &a, const CpuSchedule &s, const Halide::Target &t);

}  // namespace reluforge::sched
