#include "reluforge/schedules/default_table.h"

#include "reluforge/detail/variants.h"
#include "reluforge/signature.h"

#include <fmt/format.h>

namespace reluforge::sched {

namespace {

// backward_weight of [K,N] weights: dW's rows are K, its columns N (dZ's).
bool weight_gradient_kn(const KernelSpec &spec) {
    return spec.op == Op::backward_weight && spec.weight == WeightLayout::kn;
}

// One entry per kind of CPU in `kinds`, each with the rule `bounds` (ShapeRule text) for it.
void add_on(std::vector<ScheduleChoice> &table, std::initializer_list<CpuKind> kinds, const std::string &bounds,
            const CpuSchedule &schedule) {
    for (CpuKind kind : kinds) {
        table.push_back({ShapeRule::parse(fmt::format("cpu={}{}{}", to_string(kind), bounds.empty() ? "" : ",", bounds)).text(), schedule});
    }
}

// The extent along a kernel's output rows (its columns), bounded from above; "" without a matmul.
std::string narrow_rule(const KernelSpec &spec, int cols) {
    const bool n_cols = spec.op == Op::forward || weight_gradient_kn(spec);
    if (spec.op == Op::activation_backward) return "";
    return (n_cols ? "n<=" : "k<=") + std::to_string(cols);
}

std::string shallow_rule(const KernelSpec &spec, int depth) {
    switch (spec.op) {
    case Op::forward: return "k<=" + std::to_string(depth);
    case Op::backward_data: return "n<=" + std::to_string(depth);
    default: return "";
    }
}

// backward_weight with a deep batch and at least `rows` output rows (whole tasks), and, from
// `cols` > 0, at least that many output columns.
std::string staged_lhs_rule(const KernelSpec &spec, int rows, int cols = 0) {
    const bool kn = spec.weight == WeightLayout::kn;
    std::string rule = fmt::format("{}>={},m>=1024", kn ? "k" : "n", rows);
    if (cols > 0) rule += fmt::format(",{}>={}", kn ? "n" : "k", cols);
    return ShapeRule::parse(rule).text();
}

// Staged Xᵀ (rows outermost, each task's columns of X staged once for all panels) in tasks of 288
// rows where the output has 128 columns or more: every task packs each panel of dZ again, and
// tasks of 96 packed all of dZ K / 96 times. AMD EPYC Zen 4 (peak 116 GFLOP/s), tasks of 96 ->
// 288, alternating: 1 thread, AVX-512 1024^3 21.8 -> 20.3 ms, 2048^3 189-192 -> 166-169,
// 2048x512x512 12.8 -> 11.1, 1024x2048x256 11.2 -> 10.8, W [N,K] 1024^3 22.7 -> 20.7, 2048^3 200 ->
// 175; AVX2 (2x6 blocks) 1024^3 29.7 -> 22.9, 2048^3 258 -> 213, 2048x512x512 14.2 -> 12.8; 2
// threads, AVX-512, 1024^3 even (12.4, 12.5), 2048^3 112 -> 97. Tasks of 384 lost on 2 threads
// where they made 3 tasks (1024^3 12.4 -> 14.2); 64 columns held or lost (4096x1024x64 6.8 -> 6.6
// ms, W [N,K] 4096x64x1024 7.75 -> 8.1, AVX2 4096x1024x64 8.7 -> 9.25).
constexpr int kStagedWideTaskRows = 288;

// backward_weight's staged Xᵀ in register blocks `block_vectors` x 6: tasks of 288 rows for
// wide outputs, else of 96.
void add_staged_lhs(std::vector<ScheduleChoice> &table, const KernelSpec &spec, int block_vectors) {
    if (spec.op != Op::backward_weight) return;
    table.push_back({staged_lhs_rule(spec, kStagedWideTaskRows, 128), {block_vectors, 6, kStagedWideTaskRows, 16, true, true}});
    table.push_back({staged_lhs_rule(spec, 96), {block_vectors, 6, 96, 16, true, true}});
}

// An epilogue of many vector operations: gelu with erf, on the forward result or (chained) on
// the previous layer's aux.
bool heavy_epilogue(const KernelSpec &spec) {
    return spec.act.kind == Act::gelu && spec.act.approximate == GeluApprox::none &&
           (spec.op == Op::forward || spec.op == Op::backward_data);
}

// gelu (erf's) epilogue crowds the FMA loop's registers when applied block by block: keep
// each task's accumulators in memory and run the epilogue after them (acc_per_task).
// Forward gelu, avx512, AMD EPYC Zen 5 (peak 211 GFLOP/s), 1 thread, same-run ratios:
// 512^3 2.06 -> 1.71 ms, 1024^3 15.1 -> 12.6, 2048^3 124 -> 101, 64x1024x4096 4.60 -> 4.06,
// 256x4096x1024 15.5 -> 13.1; relu, silu and elu lost 0-5% the same way, and every
// activation lost with rows outermost (16384x32x128 relu 0.84 -> 1.40 ms; the streamed small
// batches, rows outermost, keep theirs).
// Entries restricted to one kind of CPU were measured as they stand, epilogue included, and
// keep their accumulators (add_wide_fma_forward, the transposed product of backward_data).
std::vector<ScheduleChoice> with_heavy_epilogue(std::vector<ScheduleChoice> table, const KernelSpec &spec) {
    if (heavy_epilogue(spec)) {
        for (auto &choice : table) {
            const bool one_kind = choice.shape_rule.rfind("cpu=", 0) == 0;
            choice.schedule.acc_per_task |= !choice.schedule.rows_outer && !one_kind;
        }
    }
    return table;
}

// Zen 5, forward with [K,N] weights: at K <= 64 from 2048 rows, column panels outermost (each
// panel of W packed once) rather than rows outermost. AMD EPYC Zen 5 (Turin, peak 256
// GFLOP/s), 1 thread, alternating, rows outermost -> panels: relu 16384x32x128 0.660 -> 0.623
// ms, 8192x64x256 1.20 -> 1.15, 2048x64x2048 2.51-2.56 -> 2.38-2.42, 2048x32x4096 3.08 ->
// 2.82, 4096x64x512 1.26 -> 1.17; elu 16384x32x128 0.93-0.97 -> 0.92, 8192x64x256 1.49-1.51
// -> 1.44; gelu with block accumulators 16384x32x128 1.11-1.13 -> 1.06-1.09, 8192x64x256
// 1.66 -> 1.60 (with task accumulators, as with_heavy_epilogue would make them, 1.15-1.16).
// Under 2048 rows panels lost: 1024x32x1024 0.335 -> 0.351, 512x32x4096 0.665 -> 0.69-0.83.
// gelu (erf) also keeps block accumulators at deeper K here: the epilogue, four vectors at a
// time since it was measured to crowd the FMA loop, no longer does. Zen 5, gelu, task -> block
// accumulators: 1024x128x1024 1.47-1.48 -> 1.39-1.40 ms, 4096x128x1024 5.94-5.98 -> 5.54-5.57,
// 1024x256x1024 2.73-2.78 -> 2.63-2.65, 1024x512x1024 5.23-5.25 -> 5.10-5.12, 512^3 1.30-1.31
// -> 1.27-1.28, 64x1024x4096 and 256x4096x1024 even. Not measured on other kinds, which keep
// task accumulators.
// Intel Xeon (family 6 model 167, AVX-512 with two 512-bit FMA ports, peak 212-228 GFLOP/s), 1
// thread, alternating, gelu, task -> block accumulators: 1024x128x1024 2.14-2.20 -> 1.89-2.00 ms,
// 512^3 2.16-2.25 -> 2.01-2.09, 1024^3 15.5-16.3 -> 14.1-15.1; 16384x32x128 even (1.60, 1.55).
// Panels outermost at K <= 64 did not win there (relu 16384x32x128 0.98 -> 1.04 ms, 8192x64x256
// 1.71 -> 1.88, 2048x64x2048 3.72 -> 3.68, 4096x64x512 1.76 -> 1.73): Zen 5 only.
void add_wide_fma_forward(std::vector<ScheduleChoice> &table, const KernelSpec &spec, const CpuSchedule &deep) {
    if (spec.op != Op::forward || reads_weight_transposed(spec)) return;
    table.push_back({ShapeRule::parse("cpu=zen5,k<=64,m>=2048").text(), {4, 6, 192, 16, false}});
    if (heavy_epilogue(spec)) add_on(table, {CpuKind::zen5, CpuKind::intel_avx512}, "k>=65", deep);
}

// Forward with [K,N] weights over 1 to 8 rows (a batch of a few, inference): W loaded in place
// and streamed (stream_in_place in apply_cpu.cpp), a chunk of its rows at a time, each row a page
// wide, into the rows' accumulators: 4x4 blocks with chunks of 8 steps (4 from 2 rows up) on
// AVX-512, 2x4 blocks with chunks of 4 on AVX2; 3, 2 or 1 rows have tiers of their own, 5 to 7
// rows run two tasks of 4, 8 rows one task of two blocks. On AVX-512, 6 to 8 rows of a W within
// 1024 x 1024 match the in-place entry ahead of this one first. AMD EPYC Zen 4 (peak 117
// GFLOP/s), 1 thread, relu, alternating, against the blocks of 6 vectors that read a block's
// columns down all of K (up to 5 rows) or the packed panels (6 to 8 rows):
//   AVX-512 1x1024x1024 0.101 -> 0.056 ms, 2x1024x1024 0.085 -> 0.056, 4x1024x1024 0.090 ->
//   0.096, 1x4096x4096 7.6 -> 3.6, 3x2048x2048 2.9 -> 0.43-0.53, 4x4096x1024 1.63 -> 0.75,
//   5x1000x500 0.087 -> 0.076, 1x512x512 0.018 -> 0.020, 7x2048x2048 2.09 -> 1.20,
//   8x2048x2048 2.06 -> 1.11, 8x1024x4096 2.18 -> 1.23, 6x4096x1024 1.56 -> 1.17, 6x4096x4096
//   8.4 -> 8.5, 8x4096x4096 10.5 -> 7.8 (2x4 blocks: 1x512x512 0.035; chunks of 16:
//   1x1024x1024 0.110);
//   AVX2 1x1024x1024 0.462 -> 0.052, 4x1024x1024 0.173 -> 0.108, 1x4096x4096 12.9 -> 3.9,
//   4x4096x1024 3.38 -> 0.79, 5x1000x500 0.096 -> 0.115 (outputs under a page wide stream in
//   the blocks' panels), 8x4096x4096 19.9 -> 7.3, 8x1024x1024 0.62 -> 0.29, 8x256x256 0.021 ->
//   0.016, 7x1000x500 0.165 -> 0.113 (4x2 blocks: 4x4096x1024 1.50; chunks of 8: 0.99).
// Tasks of 16 or 32 rows lost from 16 rows (16x4096x4096 11.9 -> 14.9-16.9 ms, 16x2048x2048 2.7
// -> 3.2-3.8): a block's accumulators go through memory at every chunk. Before any of this the
// packed panels ran a row or two in one-vector blocks: 1x1024x1024 0.486 ms, 1x4096x4096 19.6.
CpuSchedule small_batch_in_place(Isa isa) {
    if (isa == Isa::avx512) return {4, 4, 8, 16, true, false, OperandRead::direct, true, 8};
    return {2, 4, 8, 16, true, false, OperandRead::direct, true, 4};
}

// Forward with a packed W (packed_weights.h): its panels are read in place, already in the order
// the blocks take them, in the blocks of the forward entries below (4x6 with tasks of 48 rows,
// rows outermost in tasks of 192 at K <= 64). AMD EPYC Zen 4 (peak 117 GFLOP/s), 1 thread,
// reluforge-bench, relu, W [K,N] -> packed: 512^3 2.48 -> 2.43 ms, 2048^3 158 -> 156,
// 64x1024x4096 6.21 -> 5.13, 256x4096x1024 20.3 -> 19.0, 1024x128x1024 2.60 -> 2.50; over the
// bench's 36 cases 1.01x oneDNN 2.6 with its weights prepacked (0.93-1.18).
// A batch of a few rows runs blocks of 4 rows (2 vectors on AVX2), except 6 rows: one block of 6.
// Zen 4, 1 thread, relu, 4 rows -> 6 rows per block, AVX-512: 2x1024x1024 0.051 -> 0.147 ms,
// 5x1024x1024 0.147 -> 0.362, 6x1024x1024 0.146 -> 0.111, 7x1024x1024 0.146 -> 0.218,
// 8x1024x1024 0.147 -> 0.219, 7x2048x2048 0.61 -> 0.92, 8x4096x1024 0.71 -> 0.94; even from 9
// to 12 rows, mixed above (16x1024x1024 0.291 -> 0.327, 18x1024x1024 0.364 -> 0.328); AVX2
// 2x1024x1024 0.077 -> 0.291, 6x1024x1024 0.165 -> 0.116, 8x1024x1024 0.165 -> 0.227.
// backward_weight with fewer than 16 columns of dW (a classifier's 10). Over [K,N] weights dW's
// rows are narrower than a vector, so its blocks ran 8-lane vectors, or two of them shifted over
// the columns; as the transposed product instead (CpuSchedule::transposed_product), dWᵀ in blocks
// along K written out as dW in 16 x 16 tiles, the same FMAs in the same order, so the same bits.
// AMD EPYC Zen 5 (Turin, peak 215-227 GFLOP/s), 1 thread, alternating, with db, plain ->
// transposed (then X packed into panels): 256x128x10 17-20 -> 10-11 us, 256x64x10 10 -> 6,
// 784x256x10 101-103 -> 49, 1024x1024x10 1.35-1.42 -> 0.28-0.30 ms. It lost from 16 columns
// (256x128x32 13 -> 18 us, 1024x1024x32 0.42-0.46 -> 0.55 ms).
// X's rows are read in place (operand=direct) in blocks of 5 rows, which are 10 or 15 columns of
// dW exactly, rather than packed into panels: each element of X feeds at most 15 FMAs, so packing
// it cost as much as the products. The same bits (only where the loads come from differs); over
// [N,K] weights (dW's rows are N already) the same without the transposed product. 1 thread,
// alternating, with db, X packed -> in place:
//   Intel Xeon (family 6 model 167, peak 235-241 GFLOP/s), [K,N]: 256x128x10 11.1 -> 8.3 us,
//   256x64x10 6.0 -> 4.2, 784x256x10 50 -> 29, 256x1024x10 78 -> 50, 1000x784x10 269 -> 183,
//   4096x128x10 243 -> 205, 1024x1024x10 428 -> 415, 256x512x15 51 -> 36, 256x16x10 4.1 -> 2.2,
//   37x19x10 even (1.2); 2 threads 256x1024x10 55 -> 47, 1000x784x10 170 -> 148, 1024x1024x10
//   212 -> 222. [N,K]: 256x128x10 8.4 -> 6.6 us, 256x1024x10 62 -> 45, 784x256x10 48 -> 34,
//   1000x784x10 238 -> 187.
//   AMD EPYC Zen 5 (Turin, peak 211-217 GFLOP/s), [K,N]: 256x128x10 9.0 -> 6.6 us, 256x1024x10
//   76 -> 55, 784x256x10 45 -> 28, 1000x784x10 181 -> 111, 4096x128x10 131 -> 81, 1024x1024x10
//   265 -> 184, 256x512x15 43 -> 30, 256x31x10 5.8 -> 3.6, 1000x20x10 16 -> 10, 256x16x10 3.7 ->
//   2.5, 37x19x10 even (1.2-1.3); 2 threads 1000x784x10 143 -> 105, 1024x1024x10 184 -> 141,
//   4096x128x10 260 -> 90. [N,K]: 256x128x10 8.5 -> 6.1 us, 256x1024x10 69 -> 52, 784x256x10 50
//   -> 35, 1000x784x10 184 -> 115.
// At 16 columns the packed panels won or held (Intel 256x128x16 9.7 -> 10.8 us, Zen 5 8.1 -> 8.2),
// so up to 15. Not measured on Zen 4. AVX2 in 2x5 blocks, measured on the Intel CPU capped at
// AVX2 ([K,N] 256x128x10 11.5 -> 7.7 us, 784x256x10 63 -> 39, 1000x784x10 297 -> 277, 256x16x10
// 2.4 -> 1.3, 37x19x10 0.9 -> 0.8, 1024x1024x10 and 4096x128x10 even; [N,K] 256x128x10 9.7 ->
// 7.1, 784x256x10 60 -> 40, 1000x784x10 283 -> 229, 37x19x10 0.8 -> 0.6).
void add_narrow_weight_gradient(std::vector<ScheduleChoice> &table, const KernelSpec &spec, Isa isa) {
    if (spec.op != Op::backward_weight) return;
    CpuSchedule in_place{isa == Isa::avx512 ? 4 : 2, 5, 50, 16, false, false, OperandRead::direct};
    in_place.transposed_product = weight_gradient_kn(spec);
    table.push_back({"n<=15", in_place});
}

// Forward over [K,N] weights with fewer than 16 columns (a classifier's 10): dot products along
// K (the rows of X in place, each block's columns of W gathered once), where the panels ran
// 8-lane vectors, or two of them shifted over the columns, and under 4 columns scalar code.
// Intel Xeon (family 6 model 167, peak 224-238 GFLOP/s), 1 thread, reluforge-bench, panels ->
// dot products in blocks of 5 columns by 4 rows, relu (gelu): 256x128x10 0.017 -> 0.013 ms
// (0.021 -> 0.016), 256x1024x10 0.122 -> 0.044 (0.117 -> 0.058), 1024x1024x10 0.461 -> 0.326,
// 784x256x10 0.093 -> 0.043, 1000x784x10 0.360 -> 0.266, 64x128x10 0.007 -> 0.004, 256x512x4
// 0.064 -> 0.027, 256x128x3 0.086 -> 0.007, 256x128x1 0.087 -> 0.003; 32x512x8 and 40x64x10
// even. Blocks of 6x4: 1024x1024x10 0.310, 784x256x10 0.055; of 10x2, which fit 10 columns
// exactly: 1024x1024x10 0.227, but 256x128x12 0.022 and 256x128x15 0.021 against 0.015-0.016.
// The same CPU capped at AVX2, 3x4 blocks: 256x1024x10 0.126 -> 0.085, 784x256x10 0.092 ->
// 0.070, 256x128x3 0.088 -> 0.005, 256x128x10 0.017 -> 0.015, 256x128x15 even.
void add_narrow_forward(std::vector<ScheduleChoice> &table, const KernelSpec &spec, CpuSchedule product) {
    if (spec.op != Op::forward || spec.weight != WeightLayout::kn) return;
    table.push_back({ShapeRule::parse("n<=15,m>=32").text(), product});
}

// backward_weight's bounds on the rows and columns of dW, which are K and N for [K,N] weights and
// N and K for [N,K]: at least `rows` rows and `cols` columns.
std::string weight_gradient_bounds(const KernelSpec &spec, int rows, int cols) {
    const bool kn = spec.weight == WeightLayout::kn;
    return fmt::format("{}>={},{}>={}", kn ? "k" : "n", rows, kn ? "n" : "k", cols);
}

// Zen 4, backward_weight over a deep batch into a dW of at most 384 columns: dZ as the left
// operand, read in place (each step of the batch reads a row of dZ, at most 1.5 KiB), and X
// packed into panels along its rows. Over [K,N] weights that is the transposed product dWᵀ =
// dZᵀ·X (written out as dW in 16 x 16 tiles), over [N,K] the plain product, whose left operand
// is dZᵀ already; both where the staged or chunked Xᵀ read X down its columns, a row of X apart.
// AMD EPYC Zen 4 (family 25 model 17, peak 115 GFLOP/s), 1 thread, alternating bursts, the
// entry the shape had -> this, [K,N]: 4096x1024x64 8.3 -> 7.4 ms, 4096x512x64 6.5 -> 3.7,
// 8192x256x64 7.7 -> 4.0, 16384x256x64 24.3 -> 10.3, 2048x1024x64 3.96 -> 3.38, 4096x1024x96
// 14.2 -> 9.3, 8192x1024x80 31.3 -> 19.9, 4096x1024x128 14.1 -> 11.8, 8192x256x128 12.1 -> 8.1,
// 2048x256x128 1.54 -> 1.36, 4096x1024x192 22.7 -> 18.4, 4096x1024x256 30.2 -> 24.3,
// 2048x2048x256 25.3 -> 22.5, 4096x256x256 9.3 -> 6.4, 2048x512x256 6.48 -> 5.92,
// 2048x1024x384 18.0 -> 16.8; under 64 columns, against Xᵀ staged in 2x12 blocks or the narrow
// panels, 4096x1024x16 5.7 -> 3.3, 4096x1024x24 11.4 -> 3.8, 4096x1024x32 6.4 -> 5.2,
// 4096x1024x40 7.6 -> 4.9, 4096x1024x48 9.1 -> 6.1, 8192x512x40 10.8 -> 5.9; even at
// 1024x4096x64 and 2048x4096x64 (7.5, 14.9). It lost from 512 columns (2048x1024x512 24.1 ->
// 34.5, 4096x512x512 27.0 -> 41.9; rows of dZ 2 KiB apart), and below a batch of 2048 mixed
// (1024x512x96 1.50 -> 1.01, 1024x1024x384 8.8 -> 8.5, but 1024x1024x32 0.74 -> 0.90,
// 512x512x256 1.25 -> 1.35, 256x512x128 0.31 -> 0.35). [N,K], against Xᵀ staged: 4096x1024x256
// 27.8 -> 23.5, 2048x2048x256 28.7 -> 22.2, 1024x1024x256 6.7 -> 5.5, 4096x256x256 9.2 -> 7.2,
// 8192x512x256 37.9 -> 30.9, 2048x1024x384 17.7 -> 16.6, but 2048x1024x512 23.1 -> 32.0; under
// 256 columns the chunked entries below held (4096x1024x128 12.3, 12.3). The same bits as the
// plain product.
void add_zen4_dz_rows_in_place(std::vector<ScheduleChoice> &table, const KernelSpec &spec, const CpuSchedule &deep) {
    if (spec.op != Op::backward_weight) return;
    const bool kn = spec.weight == WeightLayout::kn;
    CpuSchedule dz_rows = deep;
    dz_rows.transposed_product = kn;
    add_on(table, {CpuKind::zen4}, kn ? "k>=256,m>=2048,n<=384" : "m>=1024,n>=256,n<=384", dz_rows);
}

// backward_weight with the left operand (Xᵀ or dZᵀ) copied transposed once (lhs=transposed). On
// Intel wherever dW is wide, from 64 rows: the staged and chunked entries below were measured on AMD.
// Intel Xeon (family 6 model 167, peak 241-247 GFLOP/s), 1 thread, alternating, [K,N], the
// entry the shape had -> transposed: 1024x128x1024 2.43 -> 2.14 ms, 4096x128x512 5.00 -> 4.67,
// 2048x200x1024 8.2 -> 6.1, 256x128x1024 0.53 -> 0.47, 128x128x1024 0.264 -> 0.223, 1024x64x1024
// 1.45 -> 1.25, 4096x64x512 3.05 -> 2.64; [N,K] 1024x1024x128 2.31 -> 2.03, 4096x512x64 2.63 ->
// 2.42, 1024x1024x64 1.28 -> 1.18. Narrower dW lost or held ([K,N] 8192x128x256 4.96 -> 6.94,
// 8192x200x300 10.9 -> 12.4, 1024x128x384 even; 2048x32x1024 even), so from 512 columns. 2
// threads 1024x128x1024 1.29 -> 1.10.
// Over 96 to 128 columns of a deep dW ([K,N], K >= 1024), the transposed product as well (dWᵀ
// = dZᵀ·X, dZ the operand copied transposed, 1 MiB at 4096x128): against the chunked entry,
// 4096x1024x128 11.8 -> 8.8 ms, 2048x1024x128 5.1 -> 4.3, 1024x1024x128 2.41 -> 2.07,
// 4096x1024x96 10.5 -> 7.1, 8192x1024x100 35.7 -> 22.7, 4096x2048x128 30.5 -> 18.2; 2 threads
// 4096x1024x128 5.10 -> 4.39. Even at 64 columns (4096x1024x64 5.16, 5.20), lost over shallower
// X (4096x512x128 4.68 -> 4.88, 2048x256x128 1.04 -> 1.20). Bit for bit the plain product's.
void add_transposed_lhs(std::vector<ScheduleChoice> &table, const KernelSpec &spec, const CpuSchedule &deep) {
    if (spec.op != Op::backward_weight) return;
    CpuSchedule transposed = deep;
    transposed.transpose_lhs = true;
    if (spec.weight == WeightLayout::kn) {
        CpuSchedule product = transposed;
        product.transposed_product = true;
        add_on(table, {CpuKind::intel_avx512}, "k>=1024,m>=1024,n>=96,n<=128", product);
        // The same product over 16 to 95 columns but 32 and 64, which the entries below cover
        // in whole blocks of 2 or 4 vectors: other widths left a block mostly past dW's edge
        // (48 columns ran two blocks of 32, 80 two of 64), where dWᵀ has them as rows in
        // blocks of 6. Intel Xeon (family 6 model 167, peak 235-241 GFLOP/s), 1 thread,
        // alternating, with db, the entry the shape had -> product: 1024x1024x20 1.74 -> 0.53
        // ms, 1024x1024x24 1.78 -> 0.59, 4096x512x28 3.82 -> 1.46, 256x1024x20 0.191 -> 0.095,
        // 256x128x28 16.7 -> 16.1 us, 128x512x20 35 -> 26; 1024x1024x40 1.65 -> 0.71 ms,
        // 4096x512x40 3.26 -> 1.73, 512x512x36 0.242 -> 0.138, 256x128x40 23 -> 21 us;
        // 1024x1024x48 1.79 -> 0.92 ms, 4096x512x48 3.71 -> 1.94, 256x1024x48 0.278 -> 0.181,
        // 1024x1024x60 1.64 -> 0.96, 256x1024x60 0.218 -> 0.203, but from 48 columns over a
        // batch under 256 or a K under 512 it lost (128x512x48 49 -> 51 us, 256x128x60 23 ->
        // 28, 256x256x60 50 -> 61, 300x300x50 68 -> 73); 1024x1024x72 1.67 -> 1.15 ms,
        // 256x1024x80 0.440 -> 0.297, 4096x512x88 3.39 -> 2.88, 256x128x72 49 -> 33 us,
        // 8192x256x80 even (4.17, 4.11 ms), 8192x1024x80 lost (14.4 -> 15.2), so up to a batch
        // of 4096 (4096x1024x72 7.1 -> 5.1, 2048x768x80 2.64 -> 1.95); at 16 columns from K =
        // 512 and a batch of 256: 1024x1024x16 0.90 -> 0.46 ms, 4096x512x16 1.97 -> 1.23,
        // 256x1024x16 98 -> 76 us, 256x512x16 45 -> 42, but 128x512x16 19 -> 21, 256x128x16 9.5
        // -> 11.7. At 32 and 64 columns, which whole blocks fit, it mostly lost (256x128x32 13 ->
        // 20 us, 128x512x32 24 -> 41, 8192x256x32 2.09 -> 2.35 ms, 1024x1024x64 0.90 -> 1.07,
        // 8192x256x64 2.04 -> 3.53; 1024x1024x32 alone won, 0.88 -> 0.69). 2 threads:
        // 1024x1024x48 1.01 -> 0.49 ms, 4096x512x24 2.07 -> 0.76, 256x1024x80 0.239 -> 0.189,
        // 1024x1024x16 0.448 -> 0.313, 4096x512x60 2.06 -> 1.19.
        for (const char *columns : {"n>=17,n<=31", "n>=33,n<=47", "n>=48,n<=63,k>=512,m>=256", "n>=65,n<=95,m<=4096",
                                    "n<=16,k>=512,m>=256"}) {
            add_on(table, {CpuKind::intel_avx512}, columns, product);
        }
        // Zen 5 likewise, with bounds of its own. AMD EPYC Zen 5 (Turin, peak 211-217 GFLOP/s),
        // 1 thread, alternating, with db, the entry the shape had -> product: 1024x1024x20 1.43 ->
        // 0.39 ms, 4096x512x28 2.30 -> 0.96, 128x512x20 36 -> 25 us, 256x128x20 16.2 -> 13.0,
        // 128x256x20 15.1 -> 13.6, 128x64x24 even (4.4, 4.3), but 64x100x20 3.7 -> 4.9;
        // 4096x512x40 2.34 -> 1.32 ms, 256x128x40 22 -> 20 us, 256x256x40 42 -> 37, 128x128x40
        // and 64x256x36 even; from 48 columns from a batch of 512: 1024x1024x48 0.75 -> 0.66
        // ms, 8192x1024x48 9.6 -> 7.1, 2048x256x48 0.46 -> 0.33, 512x1024x48 0.35 -> 0.33,
        // 1024x1024x60 0.81 -> 0.79, but 256x1024x60 168 -> 202 us, 256x256x60 44 -> 50,
        // 300x300x50 57 -> 67, 256x1024x48 even; 1024x1024x72 1.41 -> 0.91 ms, 4096x1024x72 6.05
        // -> 4.17, 8192x1024x80 13.1 -> 10.6, 8192x256x80 3.70 -> 2.63, 256x1024x80 0.33 -> 0.27,
        // 256x128x72 46 -> 32 us, 256x256x80 83 -> 67, 8192x64x80 1.05 -> 0.98 ms, but 16384x32x72
        // 1.52 -> 1.64; at 16 columns from K = 1024: 1024x1024x16 0.71 -> 0.31 ms, 256x1024x16
        // 110 -> 81 us, but 256x512x16 36 -> 38, 512x512x16 71 -> 74, 256x128x16 8.0 -> 9.5. At
        // 32 and 64 columns it lost (1024x1024x32 0.47 -> 0.56 ms, 256x128x32 12 -> 17 us,
        // 4096x1024x64 3.8 -> 4.8 ms), over 96 to 128 it was mixed (4096x1024x96 7.4 -> 6.2,
        // 4096x1024x128 7.6 -> 8.5, 8192x512x100 7.6 -> 8.0). 2 threads: 1024x1024x48 0.56 ->
        // 0.43 ms, 4096x512x24 1.54 -> 0.80, 1024x1024x16 0.43 -> 0.27, 4096x512x60 1.74 ->
        // 1.40, 256x1024x80 even (0.215, 0.222).
        for (const char *columns : {"n>=17,n<=31,m>=128", "n>=33,n<=47", "n>=48,n<=63,m>=512", "n>=65,n<=95,k>=64",
                                    "n<=16,k>=1024,m>=256"}) {
            add_on(table, {CpuKind::zen5}, columns, product);
        }
    }
    add_on(table, {CpuKind::intel_avx512}, weight_gradient_bounds(spec, 64, 512) + ",m>=128", transposed);
}

// Zen 3 (AVX2, 16 vector registers, two 256-bit FMA pipes, L2 512 KiB): every measurement below
// is from an AMD EPYC (family 25 model 1, measured peak 88-104 GFLOP/s), 1 thread, candidates
// alternating in bursts in one process.
//
// backward_weight into a dW of 256 columns or more: the left operand (Xᵀ or dZᵀ) copied
// transposed once and the product run as forward runs (lhs=transposed), in blocks of 3 vectors x
// 4 rows, rather than Xᵀ staged per task in 2x6 blocks. The entry the shape had -> this, [K,N]:
// 512^3 4.73 -> 4.01 ms, 1024^3 35.1 -> 29.8, 2048^3 323 -> 215, 64x1024x4096 10.2 -> 6.7,
// 256x4096x1024 32.9 -> 26.3, 1024x128x1024 5.15 -> 3.66, 4096x512x256 22.0 -> 16.4, 1024x64x1024
// 2.56 -> 2.08, 256x1024x1024 9.2 -> 7.2, 128x1024x1024 4.13 -> 3.42, 8192x64x256 5.39 -> 4.29,
// 1024x1024x256 7.7 -> 7.5, 64x512x512 and 256x256x256 even; [N,K]: 1024^3 34.6 -> 27.0,
// 256x4096x1024 38.1 -> 31.7, 64x1024x4096 11.1 -> 8.3, 1024x1024x128 4.64 -> 3.45. Blocks of
// 2x6 were 1-15% slower than 3x4 (64x1024x4096 7.67 against 6.67). Narrower dW lost or held
// ([K,N] 1024x1024x128 3.84 -> 4.35, 4096x1024x128 even, 4096x1024x64 11.4 -> 14.8; [N,K]
// 1024x128x1024 4.06 -> 4.58). Bit for bit the staged product's.
void add_zen3_transposed_lhs(std::vector<ScheduleChoice> &table, const KernelSpec &spec) {
    if (spec.op != Op::backward_weight) return;
    CpuSchedule transposed{3, 4, 48, 16, false};
    transposed.transpose_lhs = true;
    add_on(table, {CpuKind::zen3}, weight_gradient_bounds(spec, 64, 256), transposed);
}

// Zen 3, backward_data over [K,N] weights up to 256 rows: the transposed product dXᵀ = W·dZᵀ
// (CpuSchedule::transposed_product) in 2x6 blocks rather than dot products, with the blocks'
// accumulators for every epilogue (as Zen 4's, Zen 5's and Intel's entry). The entry the shape
// had -> this, identity: 64x1024x4096 8.3-10.1 -> 6.3-7.6 ms, 32x1024x1024 1.09 -> 0.86,
// 128x1024x1024 4.96 -> 3.80, 256x1024x1024 8.2 -> 6.4, 256x4096x1024 31.3-36.6 -> 29.6-33.5,
// 100x1000x500 1.41 -> 1.26; chained relu (mask) 64x1024x4096 10.4 -> 6.6, 256x1024x1024 10.6 ->
// 7.5, 256x4096x1024 39.4 -> 28.2; chained gelu 64x1024x4096 9.5 -> 7.4, 256x1024x1024 10.4 ->
// 7.4, 256x4096x1024 even (37.6, 36.9). 3x4 blocks were slower (64x1024x4096 7.4); at 384 rows the
// packed panels held (384x1024x1024 9.6 against 10.2). Not the same bits as the dot products
// (another summation order).
void add_zen3_data_product(std::vector<ScheduleChoice> &table, const KernelSpec &spec) {
    if (spec.op != Op::backward_data) return;
    CpuSchedule product{2, 6, 48, 16, false};
    product.transposed_product = true;
    add_on(table, {CpuKind::zen3}, "m<=256", product);
}

// Zen 3, forward over [K,N] weights and a reduction deeper than 64. gelu (erf): the accumulators
// of one block at a time, the epilogue applied to them (as Zen 5 and Intel), not each task's
// tile in memory. Task -> block accumulators: 512^3 5.18 -> 4.33 ms, 1024^3 29.6 -> 27.1,
// 1024x128x1024 5.72 -> 4.41, 4096x1024x64 7.84 -> 7.19, 64x1024x4096 13.5 -> 12.3,
// 256x4096x1024 28.7 -> 27.6. At K <= 64 the shallow entry (rows outermost) held.
// Every other activation in 3x4 blocks (24-column panels) from 512 columns: relu (silu),
// 2x6 -> 3x4: 512^3 3.06 -> 2.94 ms, 1024^3 23.8 -> 23.2 (24.6 -> 23.9), 2048^3 214 -> 205,
// 64x1024x4096 9.6 -> 8.2 (10.2 -> 8.8), 256x4096x1024 26.6 -> 25.3 (27.0 -> 25.4),
// 4096x128x1024 13.6 -> 13.1, 1024x784x1000 18.2 -> 17.8, 1024x128x1024 3.25 -> 3.03 and even
// (3.06, 3.04). Narrow outputs lost (4096x1024x64 6.80 -> 8.07, 2048x512x100 2.45 -> 2.62,
// 256x1024x16 0.112 -> 0.160: panels of 24 shifted inwards recompute columns), 600x700x300 held.
// gelu in 3x4 was mixed (64x1024x4096 12.3 -> 10.5, but 1024^3 27.1 -> 28.1).
void add_zen3_forward(std::vector<ScheduleChoice> &table, const KernelSpec &spec) {
    if (spec.op != Op::forward || reads_weight_transposed(spec)) return;
    if (heavy_epilogue(spec)) {
        add_on(table, {CpuKind::zen3}, "k>=65", {2, 6, 48, 16, false});
    } else {
        add_on(table, {CpuKind::zen3}, "k>=65,n>=512", {3, 4, 48, 16, false});
    }
}

// Zen 5, forward over a reduction of 4096 or more, with rows a multiple of 4: one task of up to
// 256 rows in blocks of 4 vectors x 4 rows, the reduction in chunks of 1024 (a 256 KiB slice of a
// panel of W, read from L2 by every block; a whole panel, 1 MiB at K = 4096, did not stay
// there). Blocks of 4 rows make any multiple of 4 whole tasks, where blocks of 6 split 256 rows
// into two tasks and packed W twice (tasks of 258 rows: 11.6 -> 12.2 ms; at M = 264, one task,
// 12.0 -> 11.6). AMD EPYC Zen 5 (Turin, peak 235 GFLOP/s), 1 thread, alternating, the entry
// the shape had -> this, with W [K,N] packed per call: relu 256x4096x1024 11.43 -> 11.03 ms,
// 128x4096x1024 6.14 -> 5.80, 200x4096x1024 9.08 -> 8.69, 252x4096x1024 11.62 -> 11.31,
// 64x4096x1024 3.52 -> 3.31, 16x4096x1024 1.53 -> 1.37, 256x8192x512 11.45 -> 10.67,
// 256x4096x4096 45.8 -> 44.5, 256x4096x64 0.70 -> 0.67, 100x4096x500 2.40 -> 2.27; gelu
// 256x4096x1024 11.11 -> 10.77, silu 11.21 -> 10.96, elu 11.35 -> 10.91; 2 threads relu
// 256x4096x1024 6.68 -> 6.33, 256x8192x512 7.03 -> 6.26. Over a packed W (no packing to
// repeat, so at any batch): 256x4096x1024 11.20 -> 10.95, 64x4096x1024 3.30 -> 2.98,
// 32x4096x1024 1.73 -> 1.51, 1024x4096x1024 48.6 -> 46.1, 2048x4096x512 48.8 -> 48.2. Where
// the rows are no multiple of 4 it lost (W [K,N] 250x4096x1024 11.01 -> 11.64, 130x4096x1024
// 6.30 -> 6.96; packed 250x4096x1024 10.72 -> 11.06), with W [K,N] from 384 rows, each task
// packing W again (384x4096x1024 16.27 -> 16.53, 1024x4096x1024 42.3 -> 43.5), and at K = 2048
// or 3072 (256x2048x1024 5.25 -> 5.29, packed 5.24 -> 5.40, 256x3072x1024 even). The same
// bits: each output's sum in the same order.
constexpr CpuSchedule kZen5DeepReductionChunks{4, 4, 256, 16, false, false, OperandRead::packed, true, 1024};

void add_packed_weight(std::vector<ScheduleChoice> &table, Isa isa) {
    const int vectors = isa == Isa::avx512 ? 4 : 2;
    const CpuSchedule few_rows{vectors, 4, 8, 16, false, false, OperandRead::direct};
    table.push_back({"m<=5", few_rows});
    table.push_back({ShapeRule::parse("m>=7,m<=8").text(), few_rows});
    table.push_back({"k<=64", {vectors, 6, 192, 16, true, false, OperandRead::direct}});
    // Zen 5, K >= 4096: a panel of W (64 columns x K, 1 MiB at K = 4096) no longer fits L2 beside
    // the rows, and each block of 6 rows streamed it whole from L3. The reduction in chunks of
    // 1024 (a 256 KiB slice of the panel), each read from L2 by every block of a task, tasks of up
    // to 132 rows (a batch of 256 is 2). AMD EPYC Zen 5 (Turin, peak 226-247 GFLOP/s), 1 thread,
    // alternating, relu, tasks of 48 -> this: 256x4096x1024 11.3-12.5 -> 10.7-11.5 ms,
    // 128x8192x512 6.5-6.7 -> 5.8-5.9, 2048x4096x512 52-54 -> 48-50, 512x4096x512 12.0-12.2 ->
    // 11.5-11.6, 1024x4096x1024 48-52 -> 48, 64x4096x1024 even (3.2-3.4); gelu 256x4096x1024
    // 13.4-13.7 -> 12.2-12.7, silu 12.8-13.1 -> 12.0-12.4; 2 threads relu 6.6-7.4 -> 6.2-6.5. At
    // K = 2048 it lost (256x2048x1024 5.7-5.8 -> 5.9-6.1, 2048^3 92-94 -> 94-96), and under 64
    // rows (16x4096x4096 5.9-6.5 -> 7.0-7.7). Not measured on other kinds. Rows a multiple of 4
    // run kZen5DeepReductionChunks ahead of it, one task at a batch of 256.
    if (isa == Isa::avx512) {
        CpuSchedule chunks = kZen5DeepReductionChunks;
        chunks.operand = OperandRead::direct;
        add_on(table, {CpuKind::zen5}, "k>=4096,m%4=0", chunks);
        add_on(table, {CpuKind::zen5}, "k>=4096,m>=64", {vectors, 6, 132, 16, false, false, OperandRead::direct, true, 1024});
    }
    table.push_back({"", {vectors, 6, 48, 16, false, false, OperandRead::direct}});
}

}  // namespace

bool has_transposed_product(const KernelSpec &spec) {
    return (spec.op == Op::backward_data || spec.op == Op::backward_weight) && spec.weight == WeightLayout::kn;
}

// Measurements: reluforge-bench --threads 1, fused forward relu, on this project's machines (AMD
// EPYC with AVX-512 on 256-bit datapaths, measured FMA peak 112-117 GFLOP/s per core), same-run
// ratios against oneDNN 2.6's matmul with a relu post-op, unless an entry names another CPU.
// An entry measured to win on one kind of CPU only carries a "cpu=<kind>" clause (host_cpu());
// every other kind runs the entries after it.
std::vector<ScheduleChoice> default_cpu_schedules(const KernelSpec &spec, Isa isa) {
    std::vector<ScheduleChoice> table;
    if (spec.weight == WeightLayout::packed) {
        add_packed_weight(table, isa);
        return with_heavy_epilogue(table, spec);
    }
    switch (isa) {
    case Isa::avx512: {
        // 4 zmm x 6 rows = 24 accumulators of 32 registers, 64-column panels. Against 3x8 (48
        // columns): 512^3 88.7 -> 90.4 GFLOP/s, 1024^3 89.5 -> 93.3, and N = 64 62 -> 98 (a 48-wide
        // panel under ShiftInwards recomputes half of 64 columns); 2x12 fell to 64 at 1024^3.
        // Task rows 48 against 24/96/192: within noise at 512^3-1024^3, 96+ lost at 512^3.
        const CpuSchedule deep{4, 6, 48, 16, false};
        // The deep entry's blocks reading the right operand's rows in place (no packed panels).
        const CpuSchedule deep_in_place{4, 6, 48, 16, false, false, OperandRead::direct};
        // ... and packing each panel from a transposed right operand in 16x16 tiles.
        const CpuSchedule deep_transposed_tiles{4, 6, 48, 16, false, false, OperandRead::transposed};
        // K <= 64: rows outermost and bigger tasks. 8192x64x256 60 -> 71 GFLOP/s (0.85x -> 1.05x
        // oneDNN), 16384x32x128 49 -> 67 (0.88x -> 1.15x); at K = 128 rows outermost lost
        // (1024x128x1024 84 -> 75).
        const CpuSchedule shallow{4, 6, 192, 16, true};
        add_narrow_weight_gradient(table, spec, isa);
        add_narrow_forward(table, spec, {5, 4, 48, 16, false, false, OperandRead::dot});
        add_zen4_dz_rows_in_place(table, spec, deep);
        add_transposed_lhs(table, spec, deep);
        // backward_weight ([K,N] weights) with 32 to 63 output columns over a large X: that
        // entry reads Xᵀ down columns a row of X apart (4 KiB at K = 1024) and fell to 30-45
        // GFLOP/s; stage each task's Xᵀ instead, with dZ's rows (at most a cache line) read in
        // place. AMD EPYC Zen 4 (peak 114 GFLOP/s), 1 thread, alternating, narrow -> staged:
        // 4096x1024x48 13.3 -> 6.6 ms, 4096x1024x63 13.1 -> 6.5, 2048x1024x48 6.4 -> 3.3,
        // 4096x512x48 5.0 -> 3.6, 4096x512x32 3.1 -> 2.0, 8192x512x40 13.5 -> 7.9, 2048x2048x32
        // 6.8 -> 3.9; below M = 2048 or K = 512 the narrow entry won (1024x512x48 0.64 -> 0.75,
        // 1024x1024x32 0.72 -> 0.76, 2048x384x48 0.92 -> 1.01, 4096x320x40 1.62 -> 2.13), and
        // at 16 columns (8192x1024x16 10.9 -> 13.1).
        if (weight_gradient_kn(spec)) {
            table.push_back({ShapeRule::parse("k>=512,m>=2048,n>=32,n<=63").text(), {2, 12, 96, 16, true, true, OperandRead::direct}});
        }
        // Fewer than 64 columns: 2 zmm x 12 rows, so that 32-63 columns still run whole blocks
        // (a 64-wide panel needs 64 columns; narrower ones fell to one-vector blocks).
        // 16384x32x128 backward_data 31 -> 79 GFLOP/s.
        // Intel: 2 zmm x 6 rows. A block of 12 rows reads 12 rows of the left operand, more
        // addresses than LLVM keeps in general registers: it computes the rest with vector
        // instructions (vpaddq, vpextrq, vextracti128) that share port 5 with the second FMA
        // unit. Intel Xeon (family 6 model 167, peak 229-247 GFLOP/s), 1 thread, alternating,
        // 2x12 -> 2x6: backward_data 16384x32x128 1.24 -> 0.93 ms, 4096x48x1024 4.77 -> 3.36,
        // 1024x32x1024 0.65 -> 0.47, 2048x60x512 1.28 -> 0.95 (chained relu with the mask alike,
        // 16384x32x128 1.40 -> 1.10); forward relu 4096x1024x32 2.55 -> 1.84, 1024x512x48 0.70
        // -> 0.51, 16384x128x32 1.39 -> 1.03, 256x1024x60 0.35 -> 0.22, 8192x256x40 2.49 ->
        // 1.95, gelu with W [N,K] 4096x1024x32 2.61 -> 1.92; 16 columns even (8192x16x256).
        // backward_weight lost (1024x512x48 0.76 -> 0.92, 1024x1024x32 0.87 -> 1.07), so keeps
        // 2x12. Not measured on AMD.
        if (std::string rule = narrow_rule(spec, 63); !rule.empty()) {
            if (spec.op != Op::backward_weight) add_on(table, {CpuKind::intel_avx512}, rule, {2, 6, 48, 16, false});
            table.push_back({rule, {2, 12, 48, 16, false}});
        }
        // Forward with [K,N] weights over 6 to 128 rows: the blocks load W's rows in place, where
        // packing a panel cost more than its few rows saved. AMD EPYC Zen 4 (peak 115 GFLOP/s), 1
        // thread, relu, packed -> in place: 8x1024x1024 0.385 -> 0.277 ms, 16x1024x1024 0.465 ->
        // 0.356, 32x1024x1024 0.82 -> 0.72, 64x1024x1024 1.51 -> 1.40, 100x1000x500 1.13 -> 1.02
        // (128x1024x1024 even). Not for outputs over 1024 wide: 64x1024x4096 7.3 -> 8.9,
        // 64x1024x2048 3.8 -> 4.0 (64x256x4096, a shallow W, won 1.49 -> 1.34, but a rule bounds
        // no product). Not over a deep reduction:
        // 32x4096x1024 4.14 -> 4.67 (W's panel, a row stride apart, no longer stays in L2); not
        // under 6 rows, where blocks of one row re-read W per row (4x1024x1024 0.72 -> 2.48); not
        // on AVX2 (the same CPU capped: 64x1024x1024 1.70 -> 2.61). Both ahead of the shallow
        // entry, which was measured from 8192 rows: at K <= 64 its tasks of 192 rows against
        // these, relu, 1 thread: 1x64x1024 0.033 -> 0.004 ms, 4x64x4096 0.516 -> 0.027,
        // 7x64x1024 0.034 -> 0.013, 8x32x4096 0.057 -> 0.037, 16x64x1024 0.041 -> 0.023, 64x32x512
        // 0.026 -> 0.023 (128x64x256, 100x16x1024 even; gelu 16x64x1024 0.051 -> 0.032).
        // Intel: the in-place entry below only under 32 rows, and 7 or 8 rows streamed as a
        // small batch. W's rows a page apart (N = 1024) map each panel's loads to the same few
        // sets of L1, and the in-place blocks re-read W from L3 for every task. Intel Xeon
        // (family 6 model 167, peak 235-241 GFLOP/s), 1 thread, alternating, relu, in place ->
        // the deep entry's packed panels: 32x1024x1024 1.35 -> 0.69 ms, 64x1024x1024 2.32 ->
        // 1.06, 128x1024x1024 4.59 -> 1.74, 128x512x512 0.45 -> 0.37, 64x512x512 0.24 -> 0.21,
        // 32x512x512 0.141 -> 0.123, 64x256x1024 0.30 -> 0.21, 128x64x1024 0.121 -> 0.096,
        // 32x64x1024 0.035 -> 0.032, 128x1024x768 1.49 -> 1.21, 100x1000x500 0.67 -> 0.62,
        // 128x128x128 0.028 -> 0.025; 32x1024x256 even (0.116, 0.119). At 16 rows mixed
        // (16x1024x1024 0.60 -> 0.45, but 16x512x512 0.071 -> 0.078, 16x64x1024 0.018 -> 0.020,
        // 16x1024x768 0.28 -> 0.30). In place -> streamed: 8x1024x1024 0.39 -> 0.20 ms,
        // 7x1024x1024 0.40 -> 0.28, 8x512x512 0.046 -> 0.037, 7x256x1024 0.047 -> 0.035,
        // 8x1024x512 0.142 -> 0.108, 7x1000x500 0.100 -> 0.086, 8x128x128 2.8 -> 2.4 us;
        // 8x64x1024 12.1 -> 12.8 us; but 6 rows, one block, lost (6x1024x1024 0.197 -> 0.280).
        if (spec.op == Op::forward && !reads_weight_transposed(spec)) {
            add_on(table, {CpuKind::intel_avx512}, "m>=32,m<=128,k<=1024,n<=1024", deep);
            add_on(table, {CpuKind::intel_avx512}, "m>=7,m<=8", small_batch_in_place(isa));
            // Zen 5 streams 7 or 8 rows too where W is large. AMD EPYC Zen 5 (Turin, peak 211-217
            // GFLOP/s), 1 thread, alternating, relu, in place -> streamed: 8x1024x1024 0.168 ->
            // 0.139 ms, 7x1024x1024 0.191 -> 0.157, 8x1024x512 0.088 -> 0.078, 7x256x1024 0.035 ->
            // 0.029, 8x512x512 even (0.044, 0.045); over a smaller W it lost (8x128x128 2.6 -> 2.9
            // us, 8x64x1024 10.9 -> 11.7, 8x1024x256 35 -> 37), and at 6 rows (6x1024x1024 0.112
            // -> 0.159).
            add_on(table, {CpuKind::zen5}, "m>=7,m<=8,k>=256,n>=512", small_batch_in_place(isa));
            // Zen 5 packs W's panels from 96 rows where W's rows are 4 KiB apart (N = 1024) over
            // a reduction from 768: the in-place blocks' loads down a panel then fall into the
            // same few sets of L1, as on Intel. AMD EPYC Zen 5 (Turin, peak 235 GFLOP/s), 1
            // thread, alternating, in place -> packed: relu 96x1024x1024 1.22 -> 1.05 ms,
            // 100x1024x1024 1.29 -> 1.10, 128x1024x1024 1.73 -> 1.43, 128x960x1024 1.52 -> 1.32,
            // 128x768x1024 1.10 -> 1.04; gelu 128x1024x1024 1.85 -> 1.48, silu 1.74 -> 1.43; 2
            // threads relu 128x1024x1024 0.99 -> 0.80. At 64 rows mixed (relu 64x1024x1024 0.86
            // -> 0.77, silu 0.72 -> 0.76, relu 64x768x1024 0.55 -> 0.57, 64x896x1024 0.59 ->
            // 0.65), and other strides lost (128x512x1024 0.68 -> 0.71, 128x1024x1000 1.26 ->
            // 1.34, 128x1024x768 even, 128x768x768 0.74 -> 0.77, 100x1000x1000 1.00 -> 1.06).
            add_on(table, {CpuKind::zen5}, "m>=96,m<=128,k>=768,k<=1024,n%1024=0", deep);
            table.push_back({ShapeRule::parse("m>=6,m<=128,k<=1024,n<=1024").text(), deep_in_place});
            table.push_back({"m<=8", small_batch_in_place(isa)});
            add_on(table, {CpuKind::zen5}, "k>=4096,m<=256,m%4=0", kZen5DeepReductionChunks);
        }
        add_wide_fma_forward(table, spec, deep);
        // Intel, backward_data over [K,N] weights with a reduction of at most 64 and 512 output
        // columns or more: the deep entry's panels outermost (W packed once) rather than the
        // shallow entry's rows outermost (W packed per task). Intel Xeon (family 6 model 167,
        // peak 212-228 GFLOP/s), 1 thread, alternating, chained relu with the mask: 4096x1024x64
        // 5.15 -> 4.52 ms, 8192x512x64 4.95 -> 4.63, 2048x1024x32 1.75 -> 1.63, 16384x256x64 4.87
        // -> 4.54, 1024x1024x64 1.30 -> 1.18; at 256 columns even (identity 8192x256x64 1.89 ->
        // 1.87). gelu keeps the accumulators the deep entry has for it (not measured).
        // Zen 5 likewise, gelu (erf) with block accumulators. AMD EPYC Zen 5 (Turin, peak 211-217
        // GFLOP/s), 1 thread, alternating, rows -> panels outermost: identity 4096x1024x64 3.19 ->
        // 2.75 ms, 1024x1024x48 0.61 -> 0.53; chained relu with the mask 4096x1024x64 4.32 ->
        // 4.07, 2048x1024x32 1.17 -> 1.03, 8192x512x64 4.37 -> 4.11, 1024x1024x64 0.92 -> 0.83,
        // 1024x4096x16 2.38 -> 1.96, 4096x512x32 1.28 -> 1.11; chained gelu 4096x1024x64 6.62 ->
        // 5.59 (task accumulators 7.14), 1024x1024x64 1.56 -> 1.29, 2048x1024x32 even (2.25,
        // 2.28). Under 512 columns mixed (relu 8192x256x64 1.98 -> 1.79, 16384x256x64 4.51 -> 4.90).
        // Zen 4 likewise but for gelu (erf). AMD EPYC Zen 4 (family 25 model 17, peak 115
        // GFLOP/s), 1 thread, alternating bursts, rows -> panels outermost: identity 4096x1024x64
        // 9.8 -> 9.1 ms, 1024x1024x64 1.56 -> 1.49, 2048x1024x32 1.75 -> 1.66, 1024x1024x16 0.52
        // -> 0.49; chained relu with the mask 4096x1024x64 9.9 -> 8.8, 2048x1024x32 2.25 -> 2.19,
        // 8192x512x64 9.6 -> 9.0, 1024x1024x64 1.63 -> 1.50, 1024x1024x48 1.42 -> 1.27,
        // 4096x512x32 2.64 -> 2.24. Chained gelu was mixed (4096x1024x64 16.0 -> 18.9-20.4 with
        // either accumulators, 2048x1024x32 5.4 -> 4.6, 1024x1024x64 even), so keeps its rows.
        if (spec.op == Op::backward_data && reads_weight_transposed(spec)) {
            CpuSchedule panels = deep;
            panels.acc_per_task = heavy_epilogue(spec);
            add_on(table, {CpuKind::intel_avx512}, "k>=512,n<=64", panels);
            add_on(table, {CpuKind::zen5}, "k>=512,n<=64", deep);
            if (!heavy_epilogue(spec)) add_on(table, {CpuKind::zen4}, "k>=512,n<=64", deep);
        }
        // Zen 5, forward over [N,K] weights from 129 rows: the deep entry's panels, each packed from
        // W in transposed tiles (operand=transposed), ahead of dot products, of packed panels
        // gathered down W's columns, and of the shallow entry. AMD EPYC Zen 5 (Turin, peak 235
        // GFLOP/s), 1 thread, alternating, relu, the entry the shape had -> tiles: dot products
        // 256x1024x1024 3.93 -> 3.26 ms, 256x512x512 0.95 -> 0.81, 200x1000x500 1.42 -> 1.19;
        // chunked dot products 256x4096x1024 19.9 -> 15.9, 192x4096x1024 12.9 -> 11.9,
        // 256x2048x1024 7.9 -> 7.0, 200x8192x256 6.75 -> 6.64; gathered panels 257x1024x1024 5.89
        // -> 3.32, 384x1024x1024 7.22 -> 4.65, 512^3 1.46-1.51 -> 1.32-1.39, 1024^3 12.7 -> 11.4,
        // 2048x1024x1024 23.7 -> 21.8, 1024x4096x1024 73.9 -> 61.2, 2048^3 104 -> 96,
        // 4096x1024x64 3.09 -> 2.99; the shallow entry 16384x32x128 0.85 -> 0.79, 8192x64x256
        // 1.65 -> 1.48; even 160x1024x1024, 1000x784x500, 1024x128x1024, 1024x256x1024,
        // 300x200x100; gelu 256x1024x1024 4.87 -> 3.82 (task accumulators 3.93), 1024^3 13.8 ->
        // 11.8; 2 threads relu 384x1024x1024 2.79 -> 2.25, 1024^3 6.19 -> 5.59, 256x1024x1024
        // 1.73 -> 1.67. Up to 128 rows mixed (100x1000x500 0.69 -> 0.60, 128x1024x1024 2.20 ->
        // 2.01, but 128x4096x1024 7.88 -> 8.98, 96x1024x1024 1.24 -> 1.26, 64x1024x4096 5.23 ->
        // 5.78, 32x1024x1024 0.72 -> 0.88). Against dot products not the same bits (each output
        // summed in another order); against packed panels the same.
        // Zen 4 likewise from 257 rows where W's rows are a multiple of 512 floats long (2 KiB
        // apart: gathering a panel's column read the same few sets of L1). AMD EPYC Zen 4
        // (family 25 model 17, peak 115 GFLOP/s), 1 thread, alternating bursts, relu, gathered
        // panels -> tiles: 512^3 2.96 -> 2.69 ms, 1024^3 22.4 -> 20.5, 257x1024x1024 7.80 -> 5.75,
        // 300x1024x1024 8.52 -> 6.44, 384x1024x1024 10.2 -> 8.2, 2048x1024x1024 43.8 -> 42.8,
        // 512x2048x512 12.8 -> 10.3, 512x4096x512 25.9 -> 22.5, 4096x1024x64 5.22 -> 5.06; gelu
        // (block accumulators, as task ones) 512^3 3.18 -> 2.84, 1024^3 24.2 -> 21.9,
        // 384x1024x1024 10.4 -> 8.4. Other lengths lost or held (1024x768x1024 15.6 -> 16.5,
        // 1000x784x500 7.28 -> 7.61, 600x700x300 2.40 -> 2.45, 1024x640x512 6.38 -> 6.51,
        // 1024x1000x1000 and 1024x256x1024 even), and up to 256 rows the dot products held
        // (256x1024x1024 5.48 against 5.67).
        if (spec.op == Op::forward && reads_weight_transposed(spec)) {
            add_on(table, {CpuKind::zen5}, "m>=129", deep_transposed_tiles);
            add_on(table, {CpuKind::zen4}, "k%512=0,m>=257", deep_transposed_tiles);
        }
        if (std::string rule = shallow_rule(spec, 64); !rule.empty()) table.push_back({rule, shallow});
        // backward_weight with few output rows (the layer's inputs) and a deep batch: one task
        // covers all of them, the batch in chunks of 512 with each chunk of dZ packed once for
        // all blocks, 4x4 blocks so that 32, 64 and 128 rows are whole tasks. AMD EPYC Zen 5
        // (peak 211 GFLOP/s), 1 thread: 8192x64x256 129 -> 160 GFLOP/s, 16384x32x128 103 -> 141,
        // 1024x128x1024 118 -> 176, 8192x100x256 52 -> 112; no gain at 4096x1024x64. On AMD
        // EPYC Zen 4 (peak 115.6) they hold against 4x6 panels: 8192x64x256 6.01 -> 5.44 ms,
        // 16384x32x128 2.74 -> 2.31, 1024x128x1024 3.20 -> 3.14.
        // Intel ([K,N], 32 to 127 rows): chunks of 128. Intel Xeon (model 167), 1 thread,
        // alternating, 512 -> 128: 16384x32x128 1.48 -> 1.35 ms, 2048x32x256 0.321 -> 0.292,
        // 8192x32x512 3.25 -> 2.98, 8192x64x256 2.54 -> 2.40, 16384x64x256 5.06 -> 4.76,
        // 1024x64x256 0.220 -> 0.202; from 128 rows mixed (1024x128x256 0.421 -> 0.380, 8192x128x256
        // 4.04 -> 4.24), so not there.
        // Zen 5, backward_weight over [N,K] weights, 16 to 255 rows of dW over a batch of at most
        // 512: X's rows read in place by the deep entry's blocks rather than packed into panels,
        // whose copy a short batch does not amortize. AMD EPYC Zen 5 (Turin, peak 211-217
        // GFLOP/s), 1 thread, alternating, with db, the entry the shape had -> in place:
        // 256x1024x48 201 -> 134 us, 256x1024x20 90 -> 68, 256x512x16 33 -> 23, 256x128x32 13.9 ->
        // 12.5, 256x128x48 21 -> 16, 256x128x64 24.5 -> 21.9, 512x512x48 181 -> 131, 128x1024x64
        // 110 -> 93, 256x1024x64 223 -> 194, 512x1024x32 238 -> 226, 512x1024x64 455 -> 442,
        // 256x1024x128 439 -> 364, 512x1024x96 681 -> 548, 256x1024x200 652 -> 550, 256x4096x32
        // 518 -> 418, 256x4096x128 1.85 -> 1.72 ms, 512x256x128 even (185, 182 us); at 256 rows
        // of dW it lost (256x1024x256 0.71 -> 0.79 ms), from a batch of 1024 it was mixed
        // (1024x256x32 110 -> 98 us, 1024x1024x48 even, 1024x1024x64 0.91 -> 1.08 ms,
        // 4096x1024x48 4.5 -> 5.4, 8192x512x32 2.4 -> 3.5). 2 threads: 256x1024x48 130 -> 87 us,
        // 256x1024x200 392 -> 324, 512x1024x64 296 -> 240. Over [K,N] weights it lost
        // (256x1024x128 350 -> 382 us, 256x1024x32 91 -> 236). The same bits.
        // Zen 4 likewise. AMD EPYC Zen 4 (family 25 model 17, peak 115 GFLOP/s), 1 thread,
        // alternating bursts, with db: 256x1024x48 306 -> 233 us, 512x512x48 275 -> 218,
        // 128x1024x64 175 -> 152, 256x1024x128 648 -> 614, 256x1024x200 1006 -> 927, 256x128x64
        // 41 -> 39; but 256x4096x128 2.87 -> 3.04 ms.
        if (spec.op == Op::backward_weight && spec.weight == WeightLayout::nk) {
            add_on(table, {CpuKind::zen4, CpuKind::zen5}, "m<=512,n>=16,n<=255", deep_in_place);
        }
        for (const auto &[lowest, task] : {std::pair{32, 32}, {64, 64}, {128, 128}}) {
            if (spec.op != Op::backward_weight) break;
            const char *rows = spec.weight == WeightLayout::kn ? "k" : "n";
            const std::string rule = fmt::format("{0}>={1},{0}<={2}", rows, lowest, 2 * lowest - 1);
            if (weight_gradient_kn(spec) && lowest < 128) {
                add_on(table, {CpuKind::intel_avx512}, rule, {4, 4, task, 16, false, false, OperandRead::packed, true, 128});
            }
            table.push_back({ShapeRule::parse(rule).text(), {4, 4, task, 16, false, false, OperandRead::packed, true, 512}});
        }
        // backward_weight with a deep batch and few output columns ([K,N] weights, N <= 128):
        // the batch in chunks, each packed once for the task's blocks, rather than the staged
        // Xᵀ below. First as tasks of 96 rows in chunks of 256, AMD EPYC Zen 5 (peak 227
        // GFLOP/s), 1 thread: 4096x1024x64 4.24 -> 3.16 ms, 4096x512x64 2.17 -> 1.67, 4096x1024x128 7.42
        // -> 6.76; 4096x1024x256 13.9 -> 13.4 and 1024^3 11.4 -> 12.1 (lost), so it stops at 128
        // (chunks of 512: 3.30 ms at 4096x1024x64, of 1024: 4.53). Zen 5 only: on AMD EPYC Zen 4
        // (peak 115.6 GFLOP/s) the staged Xᵀ won, 4096x1024x64 10.4-11.2 ms chunked against
        // 7.0-8.4 staged (chunks of 512: 10.7).
        // Then tasks of 258 rows (4 at K = 1024) in chunks of 128: each packed chunk of dZ (32 KiB,
        // in L1) serves 43 blocks rather than 16. Zen 5 (peak 237 GFLOP/s), 1 thread,
        // alternating, tasks of 96 in chunks of 256 -> this: 4096x1024x64 3.7-4.1 -> 2.95-3.07
        // ms, 4096x512x64 1.59-1.78 -> 1.39-1.42, 4096x1024x128 7.8-8.6 -> 5.9-6.4,
        // 4096x1024x96 8.2-8.4 -> 6.0-6.2, 8192x512x100 6.8-8.0 -> 5.6-6.2, 1024x4096x64
        // 4.2-4.5 -> 3.8-4.1, 2048x1024x64 1.52-1.57 -> 1.35-1.42, 8192x256x64 1.7-1.9 ->
        // 1.55-1.75; 2 threads 4096x1024x64 2.0-2.1 -> 1.50-1.58, 4096x1024x128 4.0-4.3 ->
        // 2.9-3.0. Tasks of 384 were as fast on 1 thread but made 3 tasks for 2 threads
        // (4096x1024x64 1.87-2.01 ms); tasks of 48 lost (4.4-4.8); staging each chunk of Xᵀ
        // as well lost (3.7-5.0).
        // Intel Xeon (family 6 model 167, peak 212-228 GFLOP/s), 1 thread, alternating, against
        // the staged Xᵀ below: 4096x1024x64 7.06 -> 5.24 ms, 4096x512x64 3.91 -> 2.21,
        // 8192x512x100 30.2 -> 15.0, 4096x1024x128 13.9 -> 13.4. There shorter chunks won: each
        // reads a page-strided row of X per step, and a chunk of 128 steps touched 128 pages.
        // Intel (model 167), 1 thread, alternating, chunks of 128 -> 64 -> 32: 4096x1024x64 4.24
        // -> 3.82 -> 3.37 ms, 2048x1024x64 2.03 -> 1.85 -> 1.70, 1024x4096x64 4.23 -> 3.92 -> 3.63,
        // 4096x512x64 1.91 -> 1.79 -> 1.77, 2048x768x64 1.48 -> 1.33 -> 1.24, 8192x1024x80 20.3
        // -> 17.4 -> 13.6; but 4096x512x96 3.90 -> 3.51 -> 3.65, 4096x512x128 3.92 -> 3.65 ->
        // 3.71, 8192x512x100 7.5 -> 6.7 -> 7.1 (8192x256x64, 4096x256x128 even); 2 threads
        // 4096x1024x64 3.30 -> 3.06 -> 2.52. So chunks of 32 up to 80 columns, of 64 above.
        if (weight_gradient_kn(spec)) {
            auto chunked = [](int steps) { return CpuSchedule{4, 6, 258, 16, false, false, OperandRead::packed, true, steps}; };
            add_on(table, {CpuKind::zen5}, "k>=96,m>=1024,n<=128", chunked(128));
            add_on(table, {CpuKind::intel_avx512}, "k>=96,m>=1024,n<=80", chunked(32));
            add_on(table, {CpuKind::intel_avx512}, "k>=96,m>=1024,n<=128", chunked(64));
        }
        // backward_weight reduces over the batch, reading Xᵀ down its columns: rows of X a page
        // apart. From M = 1024 (and 96 output rows, one task), stage each task's columns of X
        // once for all panels (rows outermost): 1024^3 74 -> 87 GFLOP/s, 2048^3 53 -> 82-89,
        // 4096x1024x64 57 -> 70; at 512^3 it lost (104 -> 81).
        // Up to 127 columns ([K,N] weights), the staged tasks read dZ's rows in place rather
        // than packing dZ once per task. AMD EPYC Zen 4 (peak 114 GFLOP/s), 1 thread,
        // alternating, packed -> in place: 4096x1024x64 6.9-7.2 -> 6.6 ms, 2048x1024x64 3.22
        // -> 3.09, 1024x4096x64 6.55 -> 6.28, 8192x256x64 5.27 -> 4.72, 2048x512x64 1.89 ->
        // 1.66, 1024x1024x64 1.47 -> 1.39, 4096x1024x96 13.9 -> 13.1, 1024x512x96 1.45 -> 1.38.
        // At 128 columns mixed (4096x1024x128 13.7 -> 12.4, 2048x512x128 2.87 -> 3.34, against
        // the wide tasks), at 256 lost (2048x512x256 6.0 -> 8.0). AVX-512 only: on AVX2 (the
        // same CPU capped, 2x6 blocks) in place lost (4096x1024x64 10.9 -> 15.6 ms).
        if (weight_gradient_kn(spec)) {
            table.push_back({ShapeRule::parse("k>=96,m>=1024,n<=127").text(), {4, 6, 96, 16, true, true, OperandRead::direct}});
        }
        // Intel Xeon (family 6 model 167, peak 212-228 GFLOP/s): the staged Xᵀ in tasks of 288
        // rows wins below M = 1024 too. 1 thread, alternating, the deep entry -> staged, [K,N]:
        // 512^3 2.05 -> 1.90 ms, 128x1024x1024 1.93 -> 1.67, 256x1024x1024 4.10 -> 3.59,
        // 512x1024x1024 11.9 -> 8.0, 256x4096x1024 18.4 -> 15.7, 64x1024x4096 3.75 -> 3.53,
        // 256x1024x4096 17.3 -> 15.7; [N,K]: 512x1024x1024 11.5 -> 7.7, 256x4096x1024 16.5 ->
        // 14.2, 64x1024x4096 4.02 -> 3.55. Tasks of 96 were between the two.
        // From 128 rows of the batch, better still: the whole left operand (X or dZ) copied
        // transposed once and the product run as forward runs (lhs=transposed), panels outermost.
        // Intel Xeon (model 167), 1 thread, alternating, staged -> transposed, [K,N]: 1024^3 18.5
        // -> 14.9 ms, 2048^3 166 -> 113, 512x1024x1024 7.97 -> 7.16, 256x4096x1024 15.4 -> 14.6,
        // 2048x1024x1024 40.6 -> 28.1, 1024x2048x2048 65 -> 54, 1024x4096x1024 66 -> 58,
        // 1024x512x1024 8.0 -> 6.9, 4096x1024x256 28 -> 22, 128x1024x1024 and 1024x1024x256 even;
        // 2 threads 1024^3 9.0 -> 7.3, 2048^3 81 -> 54; [N,K] 1024^3 16.5 -> 13.5, 512x1024x1024
        // 7.6 -> 6.7, 256x4096x1024 14.4 -> 13.6. At 64 rows it lost a little (64x1024x4096, [N,K],
        // 3.43 -> 3.61 ms); over few columns the chunked entry above won (4096x1024x64 5.5 ->
        // 10.6 transposed). Bit for bit the plain product's results. From 256 rows of dW (the
        // entries above end at 255), where the Zen 4 entry staging Xᵀ in tasks of 96 took them:
        // [K,N] 4096x256x256 6.9 -> 4.3 ms, 4096x270x256 7.1 -> 4.4, 4096x256x1024 28.7 -> 16.3.
        // Zen 5 likewise from 256 rows of dW. AMD EPYC Zen 5 (Turin, peak 208-217 GFLOP/s), 1
        // thread, alternating, the entry the shape had -> transposed, [K,N]: 256x4096x1024 13.3 ->
        // 11.7 ms, 512x1024x1024 6.45 -> 5.92, 8192x256x256 12.0 -> 8.9, 4096x256x256 5.0 -> 4.3,
        // 256x1024x4096 11.9 -> 11.7, 2048^3 104 -> 102, 1024^3 and 256x1024x1024 even; [N,K]
        // 8192x256x256 14.9 -> 9.5, 256x1024x4096 14.5 -> 12.9, 256x4096x1024 12.3 -> 12.1,
        // 1024^3 12.6 -> 12.3, 512x1024x1024 even.
        if (spec.op == Op::backward_weight) {
            CpuSchedule transposed = deep;
            transposed.transpose_lhs = true;
            add_on(table, {CpuKind::intel_avx512, CpuKind::zen5}, weight_gradient_bounds(spec, 256, 128) + ",m>=128", transposed);
            add_on(table, {CpuKind::intel_avx512}, weight_gradient_bounds(spec, kStagedWideTaskRows, 128),
                   {4, 6, kStagedWideTaskRows, 16, true, true});
        }
        add_staged_lhs(table, spec, 4);
        // W read transposed and few rows to amortize gathering it into panels: dot products,
        // 6 columns x 4 rows. AMD EPYC Zen 5 (peak 211 GFLOP/s), 1 thread, backward_data:
        // 64x1024x4096 9.0 -> 4.7 ms (0.52x -> 0.80x oneDNN for the whole backward),
        // 256x4096x1024 18.5 -> 13.6 ms (0.76x -> 0.86x), against a transposed copy of W; from
        // M = 512 packing won (512^3 169, 1024^3 167 GFLOP/s; the dot form peaked near 160).
        // Up to 128 rows, tasks of 64 rows with the reduction in chunks of 1024, each chunk of
        // the block's operand rows kept in cache across the task's 16 row blocks. AMD EPYC Zen
        // 5, 1 thread, backward_data: 64x1024x4096 4.33-4.54 -> 3.86-3.94 ms, 128x1024x4096
        // 9.35-9.60 -> 7.71-7.75; at 256x4096x1024 chunks lost (12.8 -> 13.8, 14.9 with 512).
        // Zen 5 only: on AMD EPYC Zen 4 (peak 115 GFLOP/s), 1 thread, the chunks lost to the
        // unchunked dot products everywhere, alternating: backward_data 100x1000x500 1.28 ->
        // 1.09 ms, 16x1024x1024 0.555 -> 0.490, 128x1024x1024 3.53 -> 3.30, 128x1024x4096 14.5
        // -> 12.1, 64x1024x4096 even (6.69, 6.70); chained gelu 100x1000x500 1.39 -> 1.18;
        // forward [N,K] relu 100x500x1000 1.32 -> 1.09, 64x4096x1024 7.98 -> 7.34.
        // Over a reduction of at most 256 the packed panels instead: the lanes' fold and tail,
        // paid per output, cost more than the packing they save. AMD EPYC Zen 4 (peak 115.6
        // GFLOP/s), 1 thread, packed 4x6 panels against dot products: backward_data 256x128x128 0.140 -> 0.083 ms,
        // 256x256x128 0.283 -> 0.169, 128x512x128 0.397 -> 0.183, 64x1024x128 0.433 -> 0.205,
        // 256x512x256 0.882 -> 0.718; forward [N,K] 128x128x512 0.423 -> 0.186; at a reduction
        // of 512 the dot products won (256x1024x512 3.07 against 3.57).
        if (reads_weight_transposed(spec)) {
            // From M = 512, backward_data packs its panels from W in transposed 16x16 tiles
            // rather than gathering W's columns (measured first as a whole transposed copy,
            // apply_cpu.cpp's pack_transposed_tiles has what packing each panel's tiles
            // straight from W won over that): AMD EPYC Zen 4 (peak 116.6 GFLOP/s), 1
            // thread, alternating: 512^3 2.96-3.05 -> 2.74-2.77 ms, 1024^3 22.7-23.9 -> 21.2-21.6,
            // 8192x64x256 2.70-2.79 -> 2.57-2.70; 2048^3 170-175 either way (the gathers are
            // paid once per panel, the FMAs per row). Forward with W [N,K] held even (1024x512x512
            // 5.7-6.1 ms packed, 5.7 transposed), so it keeps its packed panels. On AVX2 (the same
            // CPU capped) the copy lost: 512^3 3.5-3.8 -> 3.9-4.5 ms, 1024^3 28-35 -> 37-38.
            // Intel gathers W's columns into the panels faster than it copies W transposed: Intel
            // Xeon (family 6 model 167, peak 241-247 GFLOP/s), 1 thread, alternating, identity,
            // transposed copy -> packed: 1024^3 12.8 -> 11.9 ms, 2048^3 104 -> 97, 1024x2048x512
            // 13.4 -> 12.4, 512^3 1.54 -> 1.51; chained relu with the mask 1024^3 13.6 -> 12.9,
            // 600x700x300 1.86 -> 1.80; 2 threads 1024^3 6.7 -> 6.2, 2048^3 50 -> 46. The same
            // bits (both pack the panels; only where from differs).
            if (spec.op == Op::backward_data) {
                add_on(table, {CpuKind::intel_avx512}, "m>=512", {4, 6, 48, 16, false, false, OperandRead::packed});
                table.push_back({"m>=512", deep_transposed_tiles});
            }
            table.push_back({shallow_rule(spec, 256), deep});
            // Zen 5, backward_data below 512 rows: the transposed product dXᵀ = W·dZᵀ
            // (CpuSchedule::transposed_product) in the deep schedule's panels rather than dot
            // products (up to 256 rows) or panels gathered from W. AMD EPYC Zen 5 (Turin, peak
            // 218-256 GFLOP/s), 1 thread, alternating, identity, 384x1024x1024 6.1 -> 4.5 ms,
            // 480x1024x1024 7.2-7.3 -> 6.2, 300x512x512 1.00-1.02 -> 0.99-1.06; dot products ->
            // transposed product: 64x1024x4096 4.0-4.3 -> 2.95-3.10 ms,
            // 128x1024x4096 7.9 -> 5.8-6.0, 256x4096x1024 12.6-14.3 -> 10.8-12.8, 256x1024x1024
            // 2.75-2.93 -> 2.53-2.73, 256x1024x512 1.52 -> 1.30-1.34, 100x1000x500 0.74-0.75 ->
            // 0.60-0.62, 256x512x512 0.78 -> 0.68, 16x1024x1024 0.25 -> 0.21, 32x1024x1024 0.43 ->
            // 0.42; chained relu (mask) 64x1024x4096 4.3-5.2 -> 3.3-3.4, 256x4096x1024 13.3-14.3 ->
            // 11.4-11.6; chained gelu (block accumulators as measured) 64x1024x4096 4.4-4.7 ->
            // 3.1-3.4, 256x1024x1024 3.7-4.0 -> 3.0-3.1. Reductions of 256 and less keep the
            // entry above (1024x128x1024 1.5 -> 2.3, 4096x1024x64 3.9 -> 7.1 lost), from 512 rows
            // the transposed copy of W (against it 512^3 1.56 -> 1.70, 768x1024x1024 10.0 ->
            // 10.2, 2048x1024x1024 24.7 -> 27.4 lost; 512x1024x1024 7.2-8.2 -> 6.2-6.6 and
            // 512x2048x2048 30.6 -> 27.6 won). Intel Xeon (family 6 model 167, peak 212-228
            // GFLOP/s), 1 thread, alternating, relu with the mask, dot products -> transposed
            // product: 256x4096x1024 20.3 -> 13.6 ms, 64x1024x4096 4.55 -> 3.32, 256x1024x1024
            // 3.93 -> 3.32; against the transposed copy 384x1024x1024 5.06 -> 4.97, 512^3 1.75 ->
            // 1.78 (so below 512 rows there too). AMD EPYC Zen 4 (family 25 model 17, peak 115
            // GFLOP/s), 1 thread, alternating bursts, the entry the shape had -> transposed
            // product: identity 256x4096x1024 27.9 -> 23.0 ms, 64x1024x4096 6.8 -> 5.5,
            // 128x1024x4096 13.1 -> 11.4, 384x1024x1024 10.4 -> 8.5, 480x1024x1024 12.5 -> 11.5,
            // 256x1024x1024 6.15 -> 5.81, 16x1024x1024 0.53 -> 0.32, 32x1024x1024 0.90 -> 0.65,
            // 256x512x512 1.52 -> 1.44, 300x512x512 1.89 -> 1.79, 100x1000x500 even (1.22, 1.24);
            // chained relu (mask) 64x1024x4096 7.1 -> 5.6, 256x4096x1024 28.4 -> 23.0,
            // 256x1024x1024 8.9 -> 6.2; chained gelu (block accumulators) 64x1024x4096 6.9 -> 5.6,
            // 256x4096x1024 26.8 -> 24.8, 256x1024x1024 6.2 -> 6.0.
            if (spec.op == Op::backward_data) {
                CpuSchedule product = deep;
                product.transposed_product = true;
                add_on(table, {CpuKind::zen4, CpuKind::zen5, CpuKind::intel_avx512}, "m<=511", product);
            } else {
                // The same chunks for forward up to 128 rows (above, Zen 5's transposed tiles).
                // The same bits: each output's sum in the same order.
                const CpuSchedule chunks{6, 4, 64, 16, false, false, OperandRead::dot, true, 1024};
                add_on(table, {CpuKind::zen5}, "m<=128", chunks);
            }
            // Intel, forward with [N,K] weights from 128 rows: the deep entry's packed panels
            // rather than dot products. Intel Xeon (family 6 model 167, peak 235-241 GFLOP/s), 1
            // thread, alternating, relu, dot products -> packed: 128x1024x1024 2.24 -> 2.17 ms,
            // 128x4096x1024 11.2 -> 8.4, 128x1000x500 1.08 -> 0.83, 128x512x512 0.56 -> 0.49,
            // 192x4096x1024 19.0 -> 10.9, 192x1024x1024 3.20 -> 2.79, 256x1024x1024 4.20 -> 3.38,
            // 256x4096x1024 26.1 -> 13.8, 256x1024x4096 17.5 -> 13.9, 256x512x512 1.07 -> 0.82,
            // 256x1000x500 1.99 -> 1.46. At 96 rows mixed (96x4096x1024 8.3 -> 7.0, 96x1024x4096
            // 6.1 -> 7.3), at 64 the dot products won (64x1024x1024 1.15 -> 1.38, 64x1024x4096 4.6
            // -> 5.4).
            if (spec.op == Op::forward) add_on(table, {CpuKind::intel_avx512}, "m>=128", deep);
            table.push_back({"m<=256", {6, 4, 48, 16, false, false, OperandRead::dot}});
        }
        table.push_back({"", deep});
        break;
    }
    case Isa::avx2:
    case Isa::sse41: {
        // 2 vectors x 6 rows = 12 accumulators of 16 registers, leaving room for the operand
        // vectors and the broadcast; the shallow variant as on AVX-512.
        // Small batches ahead of the shallow entry, as on AVX-512. Zen 4 capped at AVX2, 1
        // thread, relu: 1x64x1024 0.052 -> 0.003 ms, 4x64x4096 0.80 -> 0.029, 8x32x4096 0.115 ->
        // 0.058.
        if (isa == Isa::avx2) add_narrow_weight_gradient(table, spec, isa);
        if (isa == Isa::avx2) add_narrow_forward(table, spec, {3, 4, 48, 16, false, false, OperandRead::dot});
        if (isa == Isa::avx2 && spec.op == Op::forward && !reads_weight_transposed(spec)) {
            table.push_back({"m<=8", small_batch_in_place(isa)});
        }
        if (std::string rule = shallow_rule(spec, 64); !rule.empty()) table.push_back({rule, {2, 6, 192, 16, true}});
        // Zen 3's entries belong to its AVX2 table only; a Zen 3 capped at SSE4.1 was not
        // measured.
        if (isa == Isa::avx2) {
            add_zen3_forward(table, spec);
            add_zen3_transposed_lhs(table, spec);
        }
        add_staged_lhs(table, spec, 2);
        // Dot products, 3 columns x 4 rows of 8 lanes; Zen 5 capped at AVX2, backward_data
        // 64x1024x4096 10.6 -> 7.7 ms, 256x4096x1024 29.4 -> 25.4 against a transposed copy.
        // Over a reduction of at most 256, packed panels, as on AVX-512: Zen 4 capped at AVX2, 1
        // thread, backward_data 256x256x128 0.248 -> 0.196 ms, 64x1024x128 0.402 -> 0.280,
        // 256x512x256 0.782 -> 0.654; at 256x1024x512 the dot products won (3.18 against 3.28).
        // gelu (erf), whose epilogue after dot products runs as a pass of its own, only up to
        // 128 rows. AMD EPYC Zen 4 capped at AVX2, 1 thread, packed -> dot products, forward
        // [N,K] and chained backward_data: 32x1024x1024 1.35 -> 0.82 and 1.81 -> 1.22 ms,
        // 64x1024x1024 2.07 -> 1.67 and 2.00 -> 1.69, 128x1024x1024 3.52 -> 3.41 and 3.51 ->
        // 3.05, 64x1024x4096 8.26 -> 7.09 and 7.93 -> 8.23; from 192 rows packing won or held
        // (256x1024x1024 6.80 -> 7.94, 6.40 -> 6.68).
        if (reads_weight_transposed(spec)) {
            table.push_back({shallow_rule(spec, 256), {2, 6, 48, 16, false}});
            if (isa == Isa::avx2) add_zen3_data_product(table, spec);
            table.push_back({heavy_epilogue(spec) ? "m<=128" : "m<=256", {3, 4, 48, 16, false, false, OperandRead::dot}});
        }
        table.push_back({"", {2, 6, 48, 16, false}});
        break;
    }
    }
    return with_heavy_epilogue(table, spec);
}

std::size_t variant_for(const std::vector<ScheduleChoice> &table, const Shape &shape) {
    std::vector<ShapeRule> rules;
    for (const auto &choice : table) rules.push_back(ShapeRule::parse(choice.shape_rule));
    return select_variant(rules, shape);
}

std::vector<ScheduleChoice> variants_for_shapes(const std::vector<ScheduleChoice> &table,
                                                const std::vector<Shape> &shapes) {
    std::vector<ShapeRule> rules;
    for (const auto &choice : table) rules.push_back(ShapeRule::parse(choice.shape_rule));
    std::vector<bool> runs(table.size(), false);
    if (!table.empty()) runs.back() = true;
    for (const Shape &shape : shapes) {
        for (CpuKind cpu : kCpuKinds) runs[select_variant(rules, shape, cpu)] = true;
    }
    std::vector<ScheduleChoice> out;
    for (std::size_t v = 0; v < table.size(); v++) {
        if (runs[v]) out.push_back(table[v]);
    }
    return out;
}

CpuSchedule default_cpu_schedule(const KernelSpec &spec, Isa isa, const Shape &shape) {
    const auto table = default_cpu_schedules(spec, isa);
    return table[variant_for(table, shape)].schedule;
}

}  // namespace reluforge::sched
