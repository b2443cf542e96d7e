#include "reluforge/generator/apply_gpu.h"

#include "reluforge/cuda_capability.h"
#include "reluforge/error.h"

#include <fmt/format.h>


namespace reluforge::gen {

using sched::GpuSchedule;

using namespace Halide;

Target cuda_target(int capability) {
    if (!is_cuda_build_capability(capability)) {
        throw Error(ErrorCode::bad_argument,
                    fmt::format("CUDA capability {} is not one Halide 14 targets (30 32 35 50 61 70 75 80 86; "
                                "newer GPUs run the PTX of 86)", capability));
    }
    const std::pair<int, Target::Feature> features[] = {
        {30, Target::CUDACapability30}, {32, Target::CUDACapability32}, {35, Target::CUDACapability35},
        {50, Target::CUDACapability50}, {61, Target::CUDACapability61}, {70, Target::CUDACapability70},
        {75, Target::CUDACapability75}, {80, Target::CUDACapability80}, {86, Target::CUDACapability86}};
    Target t(Target::Linux, Target::X86, 64);
    // The host side only launches kernels: the x86-64 baseline runs on every GPU host.
    t.set_feature(Target::SSE41);
    // run_kernel checks every tensor before a kernel runs (see x86_target).
    t.set_features({Target::CUDA, Target::NoRuntime, Target::NoAsserts});
    for (const auto &[cap, feature] : features) {
        if (cap == capability) t.set_feature(feature);
    }
    return t;
}

Target opencl_target(DType dtype) {
    Target t(Target::Linux, Target::X86, 64);
    t.set_feature(Target::SSE41);  // the host side only launches kernels (see cuda_target)
    t.set_features({Target::OpenCL, Target::NoRuntime, Target::NoAsserts});
    if (dtype == DType::f16) t.set_feature(Target::CLHalf);
    return t;
}

namespace {

// Elementwise passes: one thread per element, pass_cols x pass_rows threads per block.
void schedule_pass(Func f, Var j, Var i, bool output, const GpuSchedule &s) {
    if (!output) f.compute_root();
    Var jo("jo"), io("io"), jt("jt"), it("it");
    f.gpu_tile(j, i, jo, io, jt, it, s.pass_cols, s.pass_rows, TailStrategy::GuardWithIf);
}

// Column sums: one thread per column, summing down the rows in registers.
void schedule_column_sum(gen::ColumnSum &c, Var j, const GpuSchedule &s) {
    if (!c.is_output) c.out.compute_root();
    Var jo("jo"), jt("jt");
    c.out.gpu_tile(j, jo, jt, s.pass_cols * s.pass_rows, TailStrategy::GuardWithIf);
    c.partial.compute_at(c.out, jt);
}

// A panel staged in shared memory at reduction step rko, loaded by the block's threads: thread x
// runs along the dimension that is contiguous in memory (`fast`), so that loads coalesce.
void stage_panel(Func panel, Func consumer, RVar rko, Var fast, Var slow, int tx, int ty) {
    Var fo("fo"), fi("fi"), so("so"), si("si");
    panel.compute_at(consumer, rko)
        .store_in(MemoryType::GPUShared)
        .split(fast, fo, fi, tx, TailStrategy::GuardWithIf)
        .split(slow, so, si, ty, TailStrategy::GuardWithIf)
        .reorder(fo, so, fi, si)
        .gpu_threads(fi, si);
}

void schedule_matmul(gen::Algorithm &a, const GpuSchedule &s) {
    Var j = a.j, i = a.i;
    const int tx = s.block_cols / s.thread_cols, ty = s.block_rows / s.thread_rows;
    // Thread (jt, it) owns columns jt + tx * jr and rows it + ty * ir of its block: accumulators
    // in registers over the whole reduction, and the epilogue applied to them before the store.
    Func out = a.tiled;
    if (!a.tiled_is_output) out.compute_root();
    Var jo("jo"), io("io"), jb("jb"), ib("ib"), jt("jt"), it("it"), jr("jr"), ir("ir");
    out.tile(j, i, jo, io, jb, ib, s.block_cols, s.block_rows, TailStrategy::GuardWithIf)
        .split(jb, jr, jt, tx, TailStrategy::GuardWithIf)
        .split(ib, ir, it, ty, TailStrategy::GuardWithIf)
        .reorder(jr, ir, jt, it, jo, io)
        .gpu_blocks(jo, io)
        .gpu_threads(jt, it)
        .unroll(jr)
        .unroll(ir);
    if (s.k_tile == 0) {
        // Each thread's accumulators live inside its own thread loop; operands come from global
        // memory (through L1).
        a.acc.compute_at(out, jt).unroll(j).unroll(i);
        a.acc.update().reorder(j, i, a.r.x).unroll(j).unroll(i);
        return;
    }
    // The accumulators are computed at the block with the same thread split, kept in registers;
    // the reduction runs in k_tile steps, each staging the lhs and operand panels in shared memory.
    // Blocks at the edge compute whole tiles (the algorithm clamps its reads: build_algorithm's
    // clamp_matmul_reads) and store only what lies inside.
    RVar rko("rko"), rki("rki");
    a.acc.compute_at(out, jo)
        .store_in(MemoryType::Register)
        .bound_extent(j, s.block_cols)
        .bound_extent(i, s.block_rows)
        .split(j, jr, jt, tx)
        .split(i, ir, it, ty)
        .reorder(jr, ir, jt, it)
        .gpu_threads(jt, it)
        .unroll(jr)
        .unroll(ir);
    a.acc.update()
        .split(j, jr, jt, tx)
        .split(i, ir, it, ty)
        .split(a.r.x, rko, rki, s.k_tile)
        .reorder(jr, ir, rki, jt, it, rko)
        .gpu_threads(jt, it)
        .unroll(jr)
        .unroll(ir);
    // Threads run along each panel's innermost stored dimension, even where its tensor is read
    // transposed (W [N,K] forward, [K,N] backward_data; Xᵀ and dZᵀ in backward_weight), though
    // threads along the other would coalesce those loads: that staging gave wrong sums on pocl
    // whenever the reduction was not a whole number of k_tile steps (forward [N,K] 64x17x64: 2047
    // of 4096 outputs wrong, the last step reading the first step's panel), while this one
    // matches the reference everywhere.
    stage_panel(a.operand, a.acc, rko, j, a.operand.args()[1], tx, ty);
    stage_panel(a.lhs, a.acc, rko, a.lhs.args()[0], i, tx, ty);
}

}  // namespace

void apply_gpu_schedule(gen::Algorithm &a, const GpuSchedule &s) {
    if (std::string problem = gpu_schedule_problem(s); !problem.empty()) {
        throw Error(ErrorCode::bad_argument, fmt::format("GPU schedule '{}': {}", to_string(s), problem));
    }
    Var j = a.j, i = a.i;
    if (a.has_matmul) schedule_matmul(a, s);
    else schedule_pass(a.tiled, j, i, a.tiled_is_output, s);
    for (auto &p : a.passes) schedule_pass(p.f, j, i, true, s);
    for (auto &c : a.column_sums) schedule_column_sum(c, j, s);
    // Everything runs on the GPU: a Func left on the host would copy device buffers back.
    for (auto &f : a.roots) {
        f.compute_root().gpu_single_thread();
        for (int u = 0; u < f.num_update_definitions(); u++) f.update(u).gpu_single_thread();
    }
}

}  // namespace reluforge::gen
