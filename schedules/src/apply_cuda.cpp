#include "reluforge/schedules/cuda_schedule.h"

#include "reluforge/error.h"

#include <fmt/format.h>

namespace reluforge::sched {

using namespace Halide;

std::string to_string(const CudaSchedule &s) {
    return fmt::format("cuda:block={}x{}:thread={}x{}:pass={}x{}", s.block_cols, s.block_rows, s.thread_cols,
                       s.thread_rows, s.pass_cols, s.pass_rows);
}

std::string cuda_schedule_problem(const CudaSchedule &s) {
    if (s.block_cols < 1 || s.block_rows < 1 || s.thread_cols < 1 || s.thread_rows < 1 || s.pass_cols < 1 || s.pass_rows < 1) {
        return "every size must be at least 1";
    }
    if (s.block_cols % s.thread_cols || s.block_rows % s.thread_rows) {
        return fmt::format("block {}x{} is not a multiple of the thread block {}x{}", s.block_cols, s.block_rows,
                           s.thread_cols, s.thread_rows);
    }
    const int threads = (s.block_cols / s.thread_cols) * (s.block_rows / s.thread_rows);
    if (threads > 1024 || s.pass_cols * s.pass_rows > 1024) return "more than 1024 threads per block";
    return "";
}

Target cuda_target(int capability) {
    const std::pair<int, Target::Feature> known[] = {
        {30, Target::CUDACapability30}, {32, Target::CUDACapability32}, {35, Target::CUDACapability35},
        {50, Target::CUDACapability50}, {61, Target::CUDACapability61}, {70, Target::CUDACapability70},
        {75, Target::CUDACapability75}, {80, Target::CUDACapability80}, {86, Target::CUDACapability86}};
    for (const auto &[cap, feature] : known) {
        if (cap != capability) continue;
        Target t(Target::Linux, Target::X86, 64);
        t.set_features({Target::SSE41, Target::AVX, Target::AVX2, Target::FMA, Target::F16C});
        // run_kernel checks every tensor before a kernel runs (see x86_target).
        t.set_features({Target::CUDA, feature, Target::NoRuntime, Target::NoAsserts});
        return t;
    }
    throw Error(ErrorCode::bad_argument,
                fmt::format("CUDA capability {} is not one Halide 14 targets (30 32 35 50 61 70 75 80 86; "
                            "newer GPUs run the PTX of 86)", capability));
}

namespace {

// Elementwise passes: one thread per element, pass_cols x pass_rows threads per block.
void schedule_pass(Func f, Var j, Var i, bool output, const CudaSchedule &s) {
    if (!output) f.compute_root();
    Var jo("jo"), io("io"), jt("jt"), it("it");
    f.gpu_tile(j, i, jo, io, jt, it, s.pass_cols, s.pass_rows, TailStrategy::GuardWithIf);
}

// Column sums: one thread per column, summing down the rows in registers.
void schedule_column_sum(gen::ColumnSum &c, Var j, const CudaSchedule &s) {
    if (!c.is_output) c.out.compute_root();
    Var jo("jo"), jt("jt");
    c.out.gpu_tile(j, jo, jt, s.pass_cols * s.pass_rows, TailStrategy::GuardWithIf);
    c.partial.compute_at(c.out, jt);
}

}  // namespace

void apply_cuda_schedule(gen::Algorithm &a, const CudaSchedule &s) {
    Var j = a.j, i = a.i;
    if (a.has_matmul) {
        // Thread blocks of block_cols x block_rows outputs; each thread keeps a thread_cols x
        // thread_rows block of accumulators in registers over the whole reduction and applies
        // the epilogue to them before storing. Threads next to each other along j read adjacent
        // operand columns (coalesced).
        Func out = a.tiled;
        if (!a.tiled_is_output) out.compute_root();
        Var jo("jo"), io("io"), jb("jb"), ib("ib"), jt("jt"), it("it"), jr("jr"), ir("ir");
        out.tile(j, i, jo, io, jb, ib, s.block_cols, s.block_rows, TailStrategy::GuardWithIf)
            .tile(jb, ib, jt, it, jr, ir, s.thread_cols, s.thread_rows, TailStrategy::GuardWithIf)
            .reorder(jr, ir, jt, it, jo, io)
            .gpu_blocks(jo, io)
            .gpu_threads(jt, it);
        a.acc.compute_at(out, jt).unroll(j).unroll(i);
        a.acc.update().reorder(j, i, a.r.x).unroll(j).unroll(i);
    } else {
        schedule_pass(a.tiled, j, i, a.tiled_is_output, s);
    }
    for (auto &p : a.passes) schedule_pass(p.f, j, i, true, s);
    for (auto &c : a.column_sums) schedule_column_sum(c, j, s);
    for (auto &f : a.roots) f.compute_root();
}

}  // namespace reluforge::sched
