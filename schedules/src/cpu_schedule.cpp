#include "reluforge/schedules/cpu_schedule.h"

#include <fmt/format.h>

namespace reluforge::sched {

using namespace Halide;

std::string to_string(const CpuSchedule &s) {
    return fmt::format("cpu:block={}x{}:task_rows={}:pass_rows={}", s.block_vectors, s.block_rows,
                       s.task_rows, s.pass_rows);
}

Target x86_target(Isa isa) {
    Target t(Target::Linux, Target::X86, 64);
    t.set_feature(Target::SSE41);
    if (isa >= Isa::avx2) t.set_features({Target::AVX, Target::AVX2, Target::FMA, Target::F16C});
    if (isa >= Isa::avx512) t.set_features({Target::AVX512, Target::AVX512_Skylake});
    t.set_feature(Target::NoRuntime);
    return t;
}

namespace {

// The matmul and its epilogue, tile by tile. A task is task_rows rows by one column panel of
// block_vectors vectors; the panel of the operand is staged contiguously per task, and acc lives
// in registers per block of block_rows rows. Full tiles need cols >= panel and rows >= task_rows
// (ShiftInwards recomputes the overlap at the edges); smaller shapes take guarded tiles.
void schedule_matmul(gen::Algorithm &a, const CpuSchedule &s, int vec) {
    Var j = a.j, i = a.i;
    Var it("it"), ir("ir"), jo("jo"), ji("ji"), io("io"), ii("ii"), task("task"), ju("ju"), jv("jv");
    const int panel = s.block_vectors * vec;
    Expr full = a.cols >= panel && a.rows >= s.task_rows;
    Func out = a.tiled;
    if (!a.tiled_is_output) out.compute_root();

    auto tile = [&](Stage st, TailStrategy tail, bool unroll) {
        st.split(i, it, ir, s.task_rows, tail)
            .split(j, jo, ji, panel, tail)
            .split(ir, io, ii, s.block_rows, tail)
            .split(ji, ju, jv, vec, tail)
            .reorder(jv, ju, ii, io, jo, it)
            .fuse(jo, it, task)
            .parallel(task)
            .vectorize(jv);
        if (unroll) st.unroll(ju).unroll(ii);
    };
    tile(out.specialize(full), TailStrategy::ShiftInwards, true);
    tile(out, TailStrategy::GuardWithIf, false);

    Func acc = a.acc;
    RVar r = a.r.x;
    acc.compute_at(out, io);
    acc.specialize(full).split(j, ju, jv, vec).vectorize(jv).unroll(ju).unroll(i);
    acc.vectorize(j, vec, TailStrategy::GuardWithIf);
    acc.update().specialize(full).split(j, ju, jv, vec).reorder(jv, ju, i, r).vectorize(jv).unroll(ju).unroll(i);
    acc.update().reorder(j, i, r).vectorize(j, vec, TailStrategy::GuardWithIf);

    a.operand.compute_at(out, task).vectorize(j, vec, TailStrategy::GuardWithIf);
}

void schedule_elementwise(Func f, Var j, Var i, bool output, int rows, int vec) {
    if (!output) f.compute_root();
    Var io("io"), ii("ii");
    f.split(i, io, ii, rows, TailStrategy::GuardWithIf).parallel(io).vectorize(j, vec, TailStrategy::GuardWithIf);
}

void schedule_column_sum(gen::ColumnSum &c, Var j, int vec) {
    Var jo("jo"), ji("ji");
    c.f.compute_root().vectorize(j, vec, TailStrategy::GuardWithIf);
    c.f.update()
        .split(j, jo, ji, vec, TailStrategy::GuardWithIf)
        .reorder(ji, c.rows.x, jo)
        .vectorize(ji)
        .parallel(jo);
}

}  // namespace

void apply_cpu_schedule(gen::Algorithm &a, const CpuSchedule &s, const Target &t) {
    const int vec = t.natural_vector_size(Float(32));
    if (a.has_matmul) {
        schedule_matmul(a, s, vec);
    } else {
        schedule_elementwise(a.tiled, a.j, a.i, a.tiled_is_output, s.pass_rows, vec);
    }
    for (auto &p : a.passes) schedule_elementwise(p, a.j, a.i, true, s.pass_rows, vec);
    for (auto &c : a.column_sums) schedule_column_sum(c, a.j, vec);
    for (auto &f : a.roots) f.compute_root();
}

}  // namespace reluforge::sched
