#include "reluforge/schedules/default_table.h"

namespace reluforge::sched {

namespace {

// The extent a kernel's matmul reduces over, as a shape rule bounding it from above; "" for
// kernels without a matmul.
std::string shallow_rule(const KernelSpec &spec, int depth) {
    switch (spec.op) {
    case Op::forward: return "k<=" + std::to_string(depth);
    case Op::backward_data: return "n<=" + std::to_string(depth);
    default: return "";
    }
}

}  // namespace

// Measurements: reluforge-bench --threads 1, fused forward relu, on this project's machines (AMD
// EPYC with AVX-512 on 256-bit datapaths, measured FMA peak 112-117 GFLOP/s per core), same-run
// ratios against oneDNN 2.6's matmul with a relu post-op.
std::vector<ScheduleChoice> default_cpu_schedules(const KernelSpec &spec, Isa isa) {
    std::vector<ScheduleChoice> table;
    switch (isa) {
    case Isa::avx512: {
        // 4 zmm x 6 rows = 24 accumulators of 32 registers, 64-column panels. Against 3x8 (48
        // columns): 512^3 88.7 -> 90.4 GFLOP/s, 1024^3 89.5 -> 93.3, and N = 64 62 -> 98 (a 48-wide
        // panel under ShiftInwards recomputes half of 64 columns); 2x12 fell to 64 at 1024^3.
        // Task rows 48 against 24/96/192: within noise at 512^3-1024^3, 96+ lost at 512^3.
        const CpuSchedule deep{4, 6, 48, 16, false};
        // K <= 64: rows outermost and bigger tasks. 8192x64x256 60 -> 71 GFLOP/s (0.85x -> 1.05x
        // oneDNN), 16384x32x128 49 -> 67 (0.88x -> 1.15x); at K = 128 rows outermost lost
        // (1024x128x1024 84 -> 75).
        const CpuSchedule shallow{4, 6, 192, 16, true};
        if (std::string rule = shallow_rule(spec, 64); !rule.empty()) table.push_back({rule, shallow});
        table.push_back({"", deep});
        break;
    }
    case Isa::avx2:
    case Isa::sse41: {
        // 2 vectors x 6 rows = 12 accumulators of 16 registers, leaving room for the operand
        // vectors and the broadcast; the shallow variant as on AVX-512.
        if (std::string rule = shallow_rule(spec, 64); !rule.empty()) table.push_back({rule, {2, 6, 192, 16, true}});
        table.push_back({"", {2, 6, 48, 16, false}});
        break;
    }
    }
    return table;
}

CpuSchedule default_cpu_schedule(const KernelSpec &spec, Isa isa, const Shape &shape) {
    const auto table = default_cpu_schedules(spec, isa);
    for (const auto &choice : table) {
        if (ShapeRule::parse(choice.shape_rule).holds(shape)) return choice.schedule;
    }
    return table.back().schedule;
}

}  // namespace reluforge::sched
