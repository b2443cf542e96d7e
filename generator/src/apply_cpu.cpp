#include "reluforge/generator/apply_cpu.h"

namespace reluforge::gen {

using sched::CpuSchedule;

using namespace Halide;

Target x86_target(Isa isa) {
    Target t(Target::Linux, Target::X86, 64);
    t.set_feature(Target::SSE41);
    if (isa >= Isa::avx2) t.set_features({Target::AVX, Target::AVX2, Target::FMA, Target::F16C});
    if (isa >= Isa::avx512) t.set_features({Target::AVX512, Target::AVX512_Skylake});
    // Kernels are only reached through run_kernel, which checks every tensor (shape, strides,
    // dtype, null data, overlap) before a kernel runs; Halide's own buffer asserts repeated those
    // checks and made up ~30% of the generated code (compile and JIT-link time).
    t.set_features({Target::NoRuntime, Target::NoAsserts});
    return t;
}

namespace {

// Halide 14 emits aligned masked loads for guarded vector tails, which fault on the unaligned
// buffers callers pass in. So no vectorized loop here is ever guarded: vectorized tiles use
// ShiftInwards (recomputing a little overlap at the edges), and extents narrower than one vector
// run scalar code. Each shape tier is a specialization with the same loop names.
struct Tier {
    Expr when;
    int panel, block_rows;
    Expr task_rows;
    int width;  // of the vectors; 1: scalar
    // A streamed tier (stream_in_place): the reduction in chunks of this many steps, each over
    // the whole panel in register blocks; 0: not streamed.
    int stream_chunk = 0;
    // Rows outermost: a task's panels run in turn on the thread that took the task, not as
    // parallel tasks of their own (see kTasksPerThread).
    bool serial_panels = false;
};

// Vectors an activation of exps and polynomials (Algorithm::long_epilogue) is computed on at
// once: one vector's chain of dependent operations left the core idle between steps, and four
// interleave. AMD EPYC Zen 5, 1 thread: activation_backward gelu 8192x256 2.78 -> 2.07 ms (2
// vectors 2.37, 8 vectors 2.82: spills), elu 0.84 -> 0.73; forward gelu 8192x64x256 3.46 ->
// 2.69-2.72 ms, 16384x32x128 2.73 -> 1.99-2.03, 1024x128x1024 2.31 -> 2.07-2.11.
constexpr int kLongEpilogueVectors = 4;

// Rows of a register block where the output is one vector wide: independent accumulators enough
// to hide the FMA latency (one row's single accumulator waited on each FMA). Not a vector width:
// blocks of 8 rows by one 8-lane vector made Halide 14 drop the reduction from the loop nest,
// leaving only the bias (caught by the 37x19x10 test shape, AVX2 and AVX-512 alike).
constexpr int kNarrowRows = 6;

// Block rows up to which an in-place schedule also gets tiers of fewer rows: batches smaller than
// kNarrowRows, where a block of 4 rows is the whole batch.
constexpr int kSmallBatchRows = 4;

// Columns of a streamed panel (stream_in_place): a 4 KiB page of each row of W, read whole
// before the next.
constexpr int kStreamColumns = 1024;

// Elements a pass's task covers at least (schedule_pass): pass_rows rows, or more where rows are
// narrow. Tasks of 16 rows of 128 or 256 columns spent as much on each task's start (its call
// through the thread pool, the mask factors' scratch) as on its 2K elements. AMD EPYC Zen 5, 1
// thread, alternating, activation_backward relu from the mask with db, 16 rows -> 32K elements:
// 512x128 (a row block of backward 16384x32x128) 0.014-0.016 -> 0.009-0.010 ms, 256x256
// 0.011-0.015 -> 0.010-0.014, 16384x128 0.51-0.54 -> 0.44-0.55, 1024x1024 0.20-0.23 ->
// 0.19-0.22, 4096x4096 12.6-12.7 -> 10.5-10.6; 2 threads 16384x128 0.87-0.93 -> 0.53-0.61,
// 512x128 0.029-0.031 -> 0.017 (one run 0.051), 4096x4096 even (7.3-7.6); gelu from Z even
// (compute bound). 128K elements ran as 32K.
constexpr int kPassTaskElements = 32768;

// The threads the kernel runs on, asked of the runtime at each call (reluforge_kernel_threads in
// runtime/src/thread_pool.cpp; JIT kernels resolve it from the process, AOT ones link it).
Expr kernel_threads() { return Internal::Call::make(Int(32), "reluforge_kernel_threads", {}, Internal::Call::PureExtern); }

// Panels outermost over at least this many column panels per thread: each panel is one task,
// its rows in one parallel task, so that a thread runs whole panels over the operand slice it
// packed. With row tasks parallel as well, a thread that ran out of rows took the other's, whose
// slice sat in the other core's L2. AMD EPYC Zen 5 (peak 245 GFLOP/s), 2 threads, forward relu,
// alternating, row tasks of 48 -> one: 1024^3 5.6-5.9 -> 5.2-5.6 ms, 512^3 0.74-0.78 -> 0.64-0.72,
// 64x1024x4096 (rows in one-block tasks before) 2.95-3.1 -> 1.72-1.95; 1 thread even.
constexpr int kPanelsPerThread = 4;

// Rows outermost over at least this many row tasks per thread: each task's panels one after
// another on its thread. With the panels parallel as well, a thread that ran out of tasks took
// panels of the other's task, reading rows (or a staged Xᵀ) cached in the other core. AMD EPYC
// Zen 5 (peak 226-236 GFLOP/s), 2 threads, alternating, parallel -> serial panels:
// backward_weight (staged Xᵀ, tasks of 288) 1024^3 7.2-7.7 -> 5.8-6.6 ms, 2048^3 61-65 ->
// 53-55; forward relu, tasks of 192, 16384x32x128 0.72-0.90 -> 0.55-0.57, 8192x64x256
// 0.86-0.96 -> 0.80-0.87, 1024x32x1024 0.34-0.37 -> 0.30-0.33, 1024x64x512 0.21-0.22 ->
// 0.20-0.21; 1 thread even (1024^3 10.4-10.7 either way).
constexpr int kTasksPerThread = 2;

// Rows of one task: at most task_rows, in as many tasks as that takes, with the rows shared
// evenly and rounded up to whole blocks. The last task, shifted inwards, then recomputes fewer
// than a block's rows per task; tasks of exactly task_rows recomputed up to task_rows - 1 (M = 256
// in tasks of 192 computed 384 rows). The same number of tasks, so the same parallel grain. AMD
// EPYC Zen 4 AVX-512, 1 thread, rows-outer tasks of 192: forward relu 256x64x256 0.132 -> 0.096
// ms, 512x64x512 0.41 -> 0.38; chained backward_data relu 256x1024x10 0.277 -> 0.197. Chunked
// tiers too: backward_data with dot products in tasks of 64, 100x1024x1024 3.2-3.4 -> 2.6 ms.
Expr balanced_task_rows(Expr rows, int task_rows, int block_rows) {
    Expr tasks = (rows + task_rows - 1) / task_rows;
    Expr per_task = (rows + tasks - 1) / tasks;
    return (per_task + block_rows - 1) / block_rows * block_rows;
}

// W streamed for a batch of a few rows, where reading it is most of the cost: the reduction in
// chunks, each over the whole panel (a page of each row of W where the output is that wide) in
// register blocks of `block` columns. W is then read a chunk of rows at a time, each row
// contiguously, rather than a block's columns down all K rows, a row stride apart (a page at N =
// 1024, so a TLB miss per row). The accumulators stay in memory from chunk to chunk, and each
// sees the same FMAs in the same order. What it won: small_batch_in_place in default_table.cpp.
void stream_in_place(Func acc, const Tier &t, int block, RVar r) {
    Var j = acc.args()[0], i = acc.args()[1];
    Var jb("jb"), jr("jr"), ju("ju"), jv("jv");
    RVar ro("ro"), ri("ri");
    Var io("io"), ii("ii");
    acc.specialize(t.when).split(j, ju, jv, t.width).vectorize(jv);
    acc.update().specialize(t.when)
        .split(j, jb, jr, block)
        .split(jr, ju, jv, t.width)
        // A task is whole blocks deep (or one block of fewer rows): rounding up stays inside.
        .split(i, io, ii, t.block_rows, TailStrategy::RoundUp)
        .split(r, ro, ri, t.stream_chunk)
        .reorder(jv, ju, ii, ri, io, jb, ro)
        .vectorize(jv)
        .unroll(ju)
        .unroll(ii);
}

// f(j, i) = source(i, j) in tiles of n x n, each staged: n rows of source loaded whole into
// `block` (a wrapper of source) on the stack, then read down its columns a constant stride
// apart, rather than gathered from source a row stride apart (Halide 14 gathers a strided load
// of run-time stride). Whole tiles where `whole`, guarded elsewhere; `parallel`: rows of tiles
// as parallel tasks.
void transpose_in_tiles(Func f, Func block, Expr whole, Var j, Var i, int n, bool parallel) {
    Var jo("jo"), io("io"), ji("ji"), ii("ii");
    Stage tiles = f.specialize(whole), guarded = f;
    tiles.tile(j, i, jo, io, ji, ii, n, n, TailStrategy::ShiftInwards).vectorize(ji).unroll(ii);
    guarded.tile(j, i, jo, io, ji, ii, n, n, TailStrategy::GuardWithIf);
    if (parallel) {
        tiles.parallel(io);
        guarded.parallel(io);
    }
    block.compute_at(f, jo);
    block.specialize(whole).vectorize(block.args()[0], n).unroll(block.args()[1], n);
}

// A whole transposed copy in tiles: dZᵀ of Algorithm::transposed_product, and dX from dXᵀ.
void schedule_transpose(Func f, Func source, Expr cols, Expr rows, Var j, Var i, int n) {
    transpose_in_tiles(f, source.in(f), cols >= n && rows >= n, j, i, n, true);
}

// operand=transposed, where the operand reads its tensor down the columns: each panel packs
// itself from the tensor in transposed tiles of n x n (serial: it runs inside the panel loop),
// rather than by gathering columns. Against packing from a whole transposed copy (one more pass
// over the tensor, and a buffer its size), AMD EPYC Zen 5
// (Turin, peak 235 GFLOP/s), 1 thread, alternating processes, backward_data over [K,N] weights,
// identity: 1024^3 11.1-11.5 -> 10.7-11.0 ms, 1024x2048x512 11.6-11.9 -> 11.1-11.3,
// 512x1024x4096 25.8-26.2 -> 24.2-24.5; chained relu (mask) 1024^3 11.3-12.1 -> 10.8-11.6; 2
// threads identity 1024^3 6.1-6.4 -> 5.9-6.2; 512^3, 768^3, 600x700x300, 2048^3 and gelu
// even. The same bits: only where the panels are packed from differs.
void pack_transposed_tiles(gen::Algorithm &a, int panel, int n) {
    // operand_rows.in(): its one caller, operand_source, is inlined into operand.
    transpose_in_tiles(a.operand, a.operand_rows.in(), a.cols >= panel && a.r.x.extent() >= n, a.operand.args()[0],
                       a.operand.args()[1], n, false);
}

// The matmul and its epilogue, tile by tile: column panels of block_vectors vectors by row tasks
// of task_rows rows (both loops parallel; Halide nests them); each panel stages its slice of the
// operand contiguously, and acc lives in registers per block of block_rows rows. Panels outermost
// pack each slice once (512^3 fused relu 86 -> 98 GFLOP/s against packing per task, 1 thread,
// 112 GFLOP/s FMA peak); rows outermost read each row of the left operand from cache for all
// panels instead of once per panel, which wins when the reduction is shallow (see the default
// table).
void schedule_matmul(gen::Algorithm &a, const CpuSchedule &s, int vec) {
    Var j = a.j, i = a.i;
    Var it("it"), ir("ir"), jo("jo"), ji("ji"), io("io"), ii("ii"), ju("ju"), jv("jv");
    RVar ro("ro"), ri("ri");
    const int panel = s.block_vectors * vec;
    // Too few rows for whole tasks: tasks of one register block (a run-time split factor, so
    // that both cases share one copy of the code; a separate tier made objects ~40% larger).
    // Panels outermost, a task's rows only set the parallel grain, and the last task, shifted
    // inwards, recomputes up to task_rows - 1 rows: so whole tasks only from 8 tasks up (M = 64
    // with tasks of 48 computed 96 rows: 73 -> 57 GFLOP/s at 64x1024x4096).
    const Expr balanced = balanced_task_rows(a.rows, s.task_rows, s.block_rows);
    Expr task_rows = select(a.rows >= 8 * s.task_rows, balanced, s.block_rows);
    // Enough panels for every thread: all rows in one task. Not where a task's accumulators or
    // staged rows live in memory, which must stay small.
    if (!s.acc_per_task && !s.stage_lhs) {
        task_rows = select(a.cols >= kPanelsPerThread * panel * kernel_threads(), a.rows, task_rows);
    }
    // A chunked reduction packs each chunk once per task.
    const bool chunked = s.acc_per_task && s.reduction_block > 0;
    // Where every task packs the operand (rows outermost, or chunked), whole tasks from one task
    // up, since tasks of one block packed it once per block: fewer rows than a task are one
    // task where they are whole blocks, else two (each at most all rows, the second shifted
    // inwards), else tasks of one block. AMD EPYC Zen 4, 1 thread, rows outermost in tasks of
    // 192, one task against tasks of one block:
    // forward relu at K <= 64 150x32x512 0.116 -> 0.055 ms, 180x64x4096 2.20 -> 0.98,
    // 120x16x2048 0.172 -> 0.091; backward_data at N <= 64 100x1024x64 0.449 -> 0.179,
    // 150x512x32 0.182 -> 0.056; AVX2 forward 180x64x4096 4.18 -> 1.35.
    if (s.rows_outer || chunked) {
        const int b = s.block_rows;
        const Expr halves = ((a.rows + 1) / 2 + b - 1) / b * b;
        task_rows = select(a.rows >= s.task_rows, balanced, a.rows % b == 0, a.rows, a.rows >= 2 * b, halves, b);
    }
    // operand=direct: inlined into the FMA loop, loaded from the tensor in place.
    const bool in_place = s.operand == sched::OperandRead::direct && !a.operand_transposed;
    // operand=transposed: each panel packed from the tensor in transposed tiles.
    const bool packs_transposed_tiles = s.operand == sched::OperandRead::transposed && a.operand_transposed && !a.transposed_product;
    // In place with blocks of a few rows (the small-batch variant): fewer rows than a block still
    // run whole panels, half as many rows at a time down to one, so that W streams through once
    // per block rather than once per row in the one-vector tiers below (default_table.cpp).
    const bool small_batch = in_place && s.block_rows <= kSmallBatchRows;
    // ... with rows outermost and a chunked reduction: W streamed (stream_in_place), every count
    // of rows with its tier (3 rows in blocks of 2 read W twice).
    const bool stream = small_batch && s.rows_outer && chunked;
    std::vector<Tier> tiers;
    // Blocks of block_rows rows in tasks of task_rows; streamed, also a page wide where the panel
    // divides a page. The chunk shrinks as the rows grow: LLVM keeps a chunk's broadcasts of X in
    // registers beside the block's accumulators.
    auto add_small_batch = [&](Expr enough_rows, int block_rows, Expr task_rows) {
        const int chunk = stream ? std::max(4, s.reduction_block / block_rows) : 0;
        if (stream && kStreamColumns % panel == 0) {
            tiers.push_back({a.cols >= kStreamColumns && enough_rows, kStreamColumns, block_rows, task_rows, vec, chunk});
        }
        tiers.push_back({a.cols >= panel && enough_rows, panel, block_rows, task_rows, vec, chunk});
    };
    if (stream) {
        // Tasks of several blocks, each chunk of W read from memory once for all of them.
        const int two_blocks = 2 * s.block_rows;
        if (s.task_rows > two_blocks) add_small_batch(a.rows >= s.task_rows, s.block_rows, balanced);
        if (s.task_rows >= two_blocks) add_small_batch(a.rows >= two_blocks, s.block_rows, Expr(two_blocks));
        add_small_batch(a.rows >= s.block_rows, s.block_rows, Expr(s.block_rows));
    } else {
        const Tier whole{a.cols >= panel && a.rows >= s.block_rows, panel, s.block_rows, task_rows, vec};
        if (s.rows_outer) {
            Tier own_panels = whole;
            own_panels.when = whole.when && (a.rows + task_rows - 1) / task_rows >= kTasksPerThread * kernel_threads();
            own_panels.serial_panels = true;
            tiers.push_back(own_panels);
        }
        tiers.push_back(whole);
    }
    if (small_batch) {
        for (int rows = stream ? s.block_rows - 1 : s.block_rows / 2; rows >= 1; rows = stream ? rows - 1 : rows / 2) {
            add_small_batch(a.rows >= rows, rows, Expr(rows));
        }
    }
    // Outputs narrower than a panel: one vector, the last one shifted inwards over the one
    // before.
    tiers.push_back({a.cols >= vec && a.rows >= kNarrowRows, vec, kNarrowRows, Expr(kNarrowRows), vec});
    tiers.push_back({a.cols >= vec, vec, 1, Expr(1), vec});  // fewer rows than a block
    // Outputs narrower than one vector (a classifier's 10 columns): narrower vectors, down to 4
    // lanes. 256x1024x10 forward on AVX-512: 1.25 ms scalar, 0.11 ms with 8 lanes, Zen 5.
    for (int w = vec / 2; w >= 4; w /= 2) {
        tiers.push_back({a.cols >= w && a.rows >= kNarrowRows, w, kNarrowRows, Expr(kNarrowRows), w});
    }
    Func out = a.tiled, acc = a.acc;
    RVar r = a.r.x;
    if (!a.tiled_is_output) out.compute_root();
    // With acc_per_task, acc lives per task (and panel) in memory, and its update runs block by
    // block (LLVM keeps each block in registers through the reduction); the epilogue is its own
    // loop over the task after all of them. With acc per block, LLVM hoisted gelu's epilogue
    // constants above the FMA loop and spilled accumulators there: gelu forward at 2048^3 ran 30%
    // slower than relu (138 against 182 GFLOP/s; 181 per task), AMD EPYC Zen 5, 1 thread.
    const bool per_task = s.acc_per_task;
    acc.compute_at(out, per_task ? (s.rows_outer ? jo : it) : io);  // per task: the inner of task and panel
    if (!in_place) {
        // Chunked: a task's chunk of the operand, packed once for its blocks.
        chunked ? a.operand.compute_at(acc, ro) : a.operand.compute_at(out, jo);
    }
    if (s.stage_lhs) {
        // Stored row by row of the reduction, so one step's block_rows values are adjacent.
        a.lhs.compute_at(out, it).reorder_storage(a.i, a.lhs.args()[0]);
    } else if (s.transpose_lhs && a.lhs_transposed) {
        // The whole left operand transposed once: the blocks then read its rows along the
        // reduction in place, as forward reads X (see the default table for where it pays).
        a.lhs.compute_root();
        schedule_transpose(a.lhs, a.lhs_rows, a.r.x.extent(), a.rows, a.lhs.args()[0], a.lhs.args()[1], 16);
    }

    auto tile = [&](Stage st, const Tier &t, TailStrategy tail, int epilogue_width) {
        st.split(i, it, ir, t.task_rows, tail)
            .split(j, jo, ji, t.panel, tail)
            .split(ir, io, ii, t.block_rows, tail)
            .split(ji, ju, jv, epilogue_width, tail)
            .reorder(s.rows_outer ? std::vector<VarOrRVar>{jv, ju, ii, io, jo, it}
                                  : std::vector<VarOrRVar>{jv, ju, ii, io, it, jo})
            .parallel(it);
        if (!t.serial_panels) st.parallel(jo);
        // Only acc's FMA loop is unrolled: the epilogue runs once per element, and unrolling it
        // across the block multiplied code size (and compile and JIT-link time) by up to 24.
        if (t.width > 1) st.vectorize(jv);
    };
    // A packed W (packed_weights.h) loads as whole vectors, and a mask's bits as one word per
    // vector, only where Halide can prove that each vector's columns start at a multiple of 16:
    // a fact it learns from the tier's condition (cols_aligned). Other cols run the same tiers
    // with the panels' columns, or the mask's bytes, gathered (and the word read as well, the
    // other side of a select: with `&& !cols_aligned` in their conditions, which should have
    // dropped it, Halide 14 computed wrong results at 256x100x10).
    if (a.cols_aligned.defined()) {
        std::vector<Tier> aligned;
        for (const Tier &t : tiers) {
            if (t.width == 1) continue;
            aligned.push_back(t);
            aligned.back().when = t.when && a.cols_aligned;
        }
        tiers.insert(tiers.begin(), aligned.begin(), aligned.end());
    }
    // Halide specializes one condition once: a tier whose condition an earlier one has (a
    // one-vector panel of kNarrowRows rows) would schedule the same loops twice.
    for (std::size_t k = tiers.size(); k-- > 1;) {
        for (std::size_t e = 0; e < k; e++) {
            if (Internal::equal(tiers[k].when, tiers[e].when)) {
                tiers.erase(tiers.begin() + std::ptrdiff_t(k));
                break;
            }
        }
    }
    for (const Tier &t : tiers) {
        int epilogue_vectors = t.width == vec && a.long_epilogue ? kLongEpilogueVectors : 1;
        while (t.panel % (epilogue_vectors * t.width) != 0) epilogue_vectors /= 2;
        tile(out.specialize(t.when), t, TailStrategy::ShiftInwards, epilogue_vectors * t.width);
        // Inside a full tile acc is a panel wide and whole blocks deep: whole vectors, constant
        // loops.
        const int w = t.width;
        if (t.stream_chunk > 0) {
            stream_in_place(acc, t, panel, r);
        } else if (per_task) {
            acc.specialize(t.when).split(j, ju, jv, w).vectorize(jv).unroll(ju);
            Stage update = acc.update().specialize(t.when);
            update.split(j, ju, jv, w)
                // A task is whole blocks deep (task rows are a multiple of block rows, the last
                // task shifted inwards), so rounding up never reads past the task.
                .split(i, io, ii, t.block_rows, TailStrategy::RoundUp);
            if (s.reduction_block > 0) {
                // Chunks of the reduction outermost: the same sequence of FMAs into each
                // accumulator, so the same bits as one whole reduction.
                update.split(r, ro, ri, s.reduction_block).reorder(jv, ju, ii, ri, io, ro);
            } else {
                update.reorder(jv, ju, ii, r, io);
            }
            update.vectorize(jv).unroll(ju).unroll(ii);
        } else {
            acc.specialize(t.when).split(j, ju, jv, w).vectorize(jv).unroll(ju).unroll(i);
            acc.update().specialize(t.when).split(j, ju, jv, w).reorder(jv, ju, i, r).vectorize(jv).unroll(ju).unroll(i);
        }
        if (!in_place && !packs_transposed_tiles) a.operand.specialize(t.when).vectorize(j, w);
    }
    if (packs_transposed_tiles) pack_transposed_tiles(a, panel, vec);
    if (s.stage_lhs) a.lhs.reorder(a.lhs.args()[1], a.lhs.args()[0]);
    if (a.transposed_product && a.operand_source.defined()) {
        // dZᵀ, a whole transposed copy in staged tiles of 16 x 16. AMD EPYC Zen 5, 1 thread,
        // alternating, backward_data with a transposed copy of W, gathered -> staged:
        // 64x1024x4096 9.9-12.3 -> 7.7-8.6 ms, 512^3 1.58-1.77 -> 1.47-1.57, 16x1024x1024
        // 0.87-1.24 -> 0.74-0.97.
        Func t = a.operand_source;
        t.compute_root();
        schedule_transpose(t, a.operand_rows, a.cols, a.r.x.extent(), t.args()[0], t.args()[1], 16);
    }
    tile(out, {Expr(), vec, 1, Expr(1), 1}, TailStrategy::GuardWithIf, 1);
    if (chunked) {
        acc.update().split(r, ro, ri, s.reduction_block).reorder(j, i, ri, ro);
    } else {
        acc.update().reorder(j, i, r);
    }
}

// The matmul as dot products (Algorithm::dot): blocks of block_vectors output columns by
// block_rows rows, each output one vector of lanes along the reduction held in a register, both
// operands loaded straight from their tensors (no packing, no transposed copy), the lanes folded
// once per block at the end. Column blocks outermost and parallel, so that a block's operand
// rows stay in cache for all rows of output; row tasks inside, serial (the columns give the
// parallel grain: a K of 64 is already 11 blocks).
void schedule_matmul_dot(gen::Algorithm &a, const CpuSchedule &s, int lanes) {
    Var j = a.j, i = a.i;
    Var it("it"), ir("ir"), jo("jo"), ji("ji"), io("io"), ii("ii");
    const int cols = s.block_vectors, rows = s.block_rows;
    Func out = a.tiled;
    if (!a.tiled_is_output) out.compute_root();
    // As in schedule_matmul: whole tasks only from 8 tasks up, else tasks of one block.
    Expr task_rows = select(a.rows >= 8 * s.task_rows, balanced_task_rows(a.rows, s.task_rows, rows), rows);
    // An epilogue of exps and polynomials (Algorithm::long_epilogue) runs on each of the block's
    // rows as one vector of its columns: run scalar, once per output, it cost more than the dot
    // products. AMD EPYC Zen 4 (peak 115.6 GFLOP/s), 1 thread, 256x1024x1024: chained
    // backward_data gelu 12.2-15.2 -> 7.7-8.8 ms, silu 8.9 -> 7.7, elu 8.5 -> 5.8; forward gelu
    // with W [N,K] 11.4 -> 8.1 (relu, its epilogue left alone, 6.4-6.6).
    auto tile = [&](Stage st, int block_cols, int block_rows, Expr task, TailStrategy tail) {
        st.split(i, it, ir, task, tail)
            .split(j, jo, ji, block_cols, tail)
            .split(ir, io, ii, block_rows, tail)
            .reorder(ji, ii, io, it, jo)
            .parallel(jo);
        if (a.long_epilogue && block_cols > 1) st.vectorize(ji);
    };
    if (s.reduction_block > 0 && s.task_rows > rows) {
        // Chunks pay back over the row blocks of a task: whole tasks wherever there are rows
        // for one. (Tasks of one block are the tier below; Halide refuses one condition twice.)
        tile(out.specialize(a.cols >= cols && a.rows >= s.task_rows), cols, rows, balanced_task_rows(a.rows, s.task_rows, rows),
             TailStrategy::ShiftInwards);
    }
    tile(out.specialize(a.cols >= cols && a.rows >= rows), cols, rows, task_rows, TailStrategy::ShiftInwards);
    // Fewer rows than a block (forward's batch of a few): blocks of one row, still a block's
    // columns wide, rather than one output at a time. AMD EPYC Zen 4, AVX-512, 1 thread, forward
    // relu with W [N,K], 6x4 blocks, alternating: 1x1024x1024 0.20-0.23 -> 0.125-0.135 ms,
    // 2x1024x1024 0.23-0.25 -> 0.155, 3x1024x1024 0.28-0.31 -> 0.18-0.20, 1x4096x4096 6.7 ->
    // 5.8-5.9 (8x1024x1024, whole blocks, unchanged).
    if (a.few_rows_likely) tile(out.specialize(a.cols >= cols), cols, 1, Expr(1), TailStrategy::ShiftInwards);
    tile(out, 1, 1, Expr(1), TailStrategy::GuardWithIf);  // fewer columns than a block
    // Everything of a block at the block: constant extents (ShiftInwards), so the block's
    // accumulators are unrolled into registers.
    Var l = a.lanes.args()[0];
    // The block's operand rows copied once per block into rows aligned to a vector, read by all
    // rows of output: tensors a caller passes are often aligned to 16 bytes only, and every
    // load then split cache lines. Zen 5, 1 thread, inputs 16 bytes off: 256x4096x1024 17.0 ->
    // 14.1 ms, 64x1024x4096 5.1 -> 4.8 ms.
    Var r = a.operand.args()[1];
    a.operand.compute_at(out, jo).reorder_storage(r, j).align_storage(r, lanes).reorder(r, j);
    // Whole vectors need a reduction of at least one vector (ShiftInwards stays inside it).
    a.operand.specialize(a.r.x.extent() >= 1).vectorize(r, lanes);
    a.acc.compute_at(out, io).unroll(j).unroll(i);
    if (s.reduction_block > 0) {
        // A chunked reduction: the lanes of a whole task live in memory, and each chunk of the
        // reduction runs over all the task's row blocks before the next, so the block's operand
        // chunk stays in cache while the rows stream past (default_table.cpp has what it won).
        // Each lane sees the same FMAs in the same order: the same bits where they are FMAs.
        Expr whole_blocks = a.cols >= cols && a.rows >= rows;
        const int steps = std::max(1, s.reduction_block / lanes);
        RVar ro("ro"), ri("ri");
        Var bo("bo"), bi("bi");
        a.lanes.compute_at(out, it).vectorize(l).unroll(j);
        a.lanes.update().specialize(whole_blocks)
            .split(a.r.x, ro, ri, steps)
            // A task is whole blocks deep (the last one shifted inwards), so rounding up never
            // reads past it.
            .split(i, bo, bi, rows, TailStrategy::RoundUp)
            .reorder(l, j, bi, ri, bo, ro)
            .vectorize(l).unroll(j).unroll(bi);
        a.lanes.update().reorder(l, j, i, a.r.x).vectorize(l);
    } else {
        a.lanes.compute_at(out, io).vectorize(l).unroll(j).unroll(i);
        a.lanes.update().reorder(l, j, i, a.r.x).vectorize(l).unroll(j).unroll(i);
    }
    for (Func fold : a.dot_folds) fold.compute_at(out, io).vectorize(fold.args()[0]).unroll(j).unroll(i);
    a.dot_tail.compute_at(out, io).unroll(j).unroll(i);
    a.dot_tail.update().reorder(j, i, RVar(a.dot_tail.update().get_schedule().rvars()[0].var)).unroll(j).unroll(i);
}

// Passes over (j, i): vectorized along j, rows split into parallel tasks of `rows` rows, or of
// kPassTaskElements elements where rows are narrow (all of them where there are fewer), the last
// shifted inwards.
void schedule_pass(Func f, Expr cols, Expr all_rows, Var j, Var i, bool output, int rows, int vec, bool long_epilogue,
                   const std::vector<Expr> &cases = {}) {
    if (!output) f.compute_root();
    Var io("io"), ii("ii");
    Expr task = min(all_rows, max(rows, kPassTaskElements / max(cols, 1)));
    for (const Expr &c : cases) {
        // (Each condition alone, which Halide substitutes into f. The passes with cases are the
        // bit mask's, whose columns are whole groups of 16 bytes.)
        f.specialize(c).split(i, io, ii, task, TailStrategy::ShiftInwards).parallel(io).vectorize(j, std::max(vec, 16));
    }
    if (long_epilogue) {
        const int wide = kLongEpilogueVectors * vec;
        f.specialize(cols >= wide).split(i, io, ii, task, TailStrategy::ShiftInwards).parallel(io).vectorize(j, wide);
    }
    f.specialize(cols >= vec).split(i, io, ii, task, TailStrategy::ShiftInwards).parallel(io).vectorize(j, vec);
    if (long_epilogue) {
        // Narrower outputs (a classifier's 10 columns) in narrower vectors, the last shifted
        // inwards over the one before: scalar, gelu's pass after dot products cost more than the
        // products. Intel Xeon (family 6 model 167), 1 thread, forward gelu with W [K,N], dot
        // products: 256x128x10 0.032 -> 0.020 ms, 256x128x15 0.041 -> 0.024, 64x128x10 0.008 ->
        // 0.005, 784x256x10 0.104 -> 0.067.
        for (int w = vec / 2; w >= 4; w /= 2) {
            f.specialize(cols >= w).split(i, io, ii, task, TailStrategy::ShiftInwards).parallel(io).vectorize(j, w);
        }
    }
    f.split(i, io, ii, task, TailStrategy::ShiftInwards).parallel(io);
}

// act' from a mask, a row of a pass at a time ("ii" above) in groups of 16 columns: a row starts
// at column 0, so each group is one bit of 16 adjacent bytes (tensor.h), loaded whole. With the
// mask's earlier format of a byte per 8 columns, groups of 8 and the byte broadcast: in cache (64x256,
// AVX-512, AMD EPYC Zen 4), relu's dZ from dY and the mask took 0.43 ns per element with each
// lane's byte gathered, 0.16 so; activation_backward with db, 1 thread, 16384x128: relu and
// leaky_relu 1.12-1.32 -> 0.72-1.00 ms (8192x256 and 1024x1024 within this VM's noise). In a
// matmul's epilogue it stays inlined: Halide 14's lowering crashed on align_bounds there (a
// consumer whose rows are guarded with ifs), and tiles start anywhere. Passes split their rows
// with ShiftInwards for the same reason.
void schedule_mask_factors(gen::Algorithm &a) {
    if (a.has_matmul) return;
    for (Func factor : a.mask_factors) {
        Var col = factor.args()[0], group("group"), in_group("in_group");
        // Stored per task: its extent is not a constant, and stored per row it was allocated per row.
        factor.compute_at(a.tiled, Var("ii")).store_at(a.tiled, Var("io")).align_bounds(col, 16)
            .split(col, group, in_group, 16).vectorize(in_group);
    }
}

// out(j) = partial(j): partial, Σ over rows, lives in registers for one vector of columns at a
// time, so the row loop reads whole rows of the source and the output is stored once.
void schedule_column_sum(gen::ColumnSum &c, Var j, int vec) {
    Var jo("jo"), jv("jv");
    if (!c.is_output) c.out.compute_root();
    c.partial.compute_at(c.out, jo);
    // Strips of 128 columns where there are enough, each walking its rows once: strips of one
    // vector walked the rows a cache line at a time, a row stride apart (4 KiB at 1024
    // columns, all in one cache set). The same sums in the same order. Zen 5, 1 thread,
    // activation_backward relu with db, M x N: 1024x1024 1.01 -> 0.49 ms, 2048x2048 5.2 ->
    // 2.2-2.5 ms; 8192x256 and 16384x128 within noise (0.9-1.0 ms).
    const int strip = std::max(vec, 128);
    const bool has_rows = !c.partial.update().get_schedule().rvars().empty();
    for (int width : {strip, vec}) {
        Expr wide = c.cols >= width;
        c.out.specialize(wide).split(j, jo, jv, width).parallel(jo).vectorize(jv, vec);
        c.partial.specialize(wide).vectorize(j, vec);
        // A term that does not depend on the row (counts of identity) leaves no row loop to order.
        if (has_rows) {
            c.partial.update().specialize(wide).reorder(j, c.rows.x).vectorize(j, vec);
        } else {
            c.partial.update().specialize(wide).vectorize(j, vec);
        }
    }
    c.out.split(j, jo, jv, vec, TailStrategy::GuardWithIf);
    if (has_rows) c.partial.update().reorder(j, c.rows.x);
}

}  // namespace

void apply_cpu_schedule(gen::Algorithm &a, const CpuSchedule &s, const Target &t) {
    const int vec = t.natural_vector_size(Float(32));
    if (a.dot) {
        schedule_matmul_dot(a, s, vec);
    } else if (a.has_matmul) {
        schedule_matmul(a, s, vec);
    } else {
        schedule_pass(a.tiled, a.cols, a.rows, a.j, a.i, a.tiled_is_output, s.pass_rows, vec, a.long_epilogue);
    }
    for (std::size_t k = 0; k < a.passes.size(); k++) {
        const gen::Pass &p = a.passes[k];
        if (a.transposed_product && k == 0) {
            // dX (or dW) from dXᵀ in staged tiles of one vector. AMD EPYC Zen 5, 1 thread, the identity's
            // backward_data with rows of dX gathered from dXᵀ -> tiles: 256x4096x1024 13.0-13.4
            // -> 11.7-12.4 ms (the product alone, as forward 4096x1024x256, 10.4).
            schedule_transpose(p.f, a.tiled, p.cols, p.rows, a.j, a.i, vec);
            continue;
        }
        schedule_pass(p.f, p.cols, p.rows.defined() ? p.rows : a.rows, a.j, a.i, true, s.pass_rows, vec, a.long_epilogue,
                      p.cases);
    }
    for (auto &c : a.column_sums) schedule_column_sum(c, a.j, vec);
    schedule_mask_factors(a);
    for (auto &f : a.roots) f.compute_root();
}

}  // namespace reluforge::gen
