// CPU schedules as plain values: what the generator's apply_cpu_schedule does with an algorithm.
// This header needs no Halide.
#pragma once

#include <string>
#include <string_view>

namespace reluforge::sched {

// How the matmul reads an operand that its tensor stores transposed (forward with [N,K] weights,
// backward_data with [K,N]); for every other kernel all three read the same way as packed.
enum class OperandRead {
    packed,      // panels packed straight from the tensor, gathering down its columns
    transposed,  // panels packed in square tiles, each loaded along the tensor's rows, stored transposed
    // No packing where the operand is read along its rows (forward with [K,N] weights,
    // backward_weight): the register blocks load it from the tensor in place. For few rows of
    // output, where packing a panel cost more than the rows it served saved; where the operand
    // is read transposed it is packed as with `packed`.
    direct,
    // No packing: each output is a dot product along the reduction, where both operands are
    // contiguous, in vector lanes folded at the end. The block is then block_vectors output
    // columns (operand rows) by block_rows rows, one vector accumulator each.
    dot,
};

struct CpuSchedule {
    int block_vectors = 4;  // register block: block_vectors SIMD vectors wide ...
    int block_rows = 6;     // ... by block_rows rows; block_vectors * block_rows accumulators
    int task_rows = 48;     // rows of one parallel task (a multiple of block_rows)
    int pass_rows = 16;     // rows of one parallel task of the elementwise passes
    // Loop order of the matmul. false: column panels outermost, each packing its slice of the
    // operand once, row tasks inside. true: row tasks outermost, all panels inside, the operand
    // packed per task (for shallow reductions, where re-reading the left operand once per
    // panel costs more than packing).
    bool rows_outer = false;
    // Stage each task's rows of the left operand contiguously (with rows outermost, once for all
    // panels): for a left operand read down its columns (Xᵀ in backward_weight), whose rows
    // would otherwise be a page apart.
    bool stage_lhs = false;
    OperandRead operand = OperandRead::packed;
    // Where the accumulators live between the reduction and the epilogue. false: one register
    // block at a time, the epilogue applied to it straight after its reduction (cheapest for
    // shallow reductions). true: a task's whole tile in memory, the reduction block by block,
    // then the epilogue as its own loop; this keeps an expensive epilogue (gelu's) from crowding
    // the FMA loop's registers.
    bool acc_per_task = false;
    // With acc_per_task: the reduction in chunks of this many steps, each chunk of the operand
    // packed once for all blocks of the task (kept in cache across them), the accumulators kept
    // in memory from chunk to chunk; 0: the whole reduction at once. Pays where a task's rows are
    // few and the reduction deep (backward_weight over a large batch), when one task covers all
    // rows: the operand is packed once per task and chunk.
    int reduction_block = 0;
    // backward_data over [K,N] weights as the transposed product dXᵀ = W·dZᵀ: W's rows are the
    // left operand (read along the reduction, as X is in forward), dZ is copied once transposed
    // (M x N, where gathering W's columns costs K x N), and dXᵀ is transposed into dX on its way
    // out. The rest of the schedule applies to that product, rows being W's K, columns the batch.
    // backward_weight over [K,N] weights likewise computes dWᵀ = dZᵀ·X, the [N,K] layout's
    // product (vectors along K however narrow dW is), and transposes it into dW on its way out.
    // Every other kernel ignores it.
    bool transposed_product = false;
    // Rather than stage_lhs: the whole left operand copied transposed (in 16 x 16 tiles) before
    // the product, which then reads its rows in place as forward reads X's ("lhs=transposed").
    // Only backward_weight reads its left operand down the columns; elsewhere it changes nothing.
    bool transpose_lhs = false;

    bool operator==(const CpuSchedule &o) const {
        return block_vectors == o.block_vectors && block_rows == o.block_rows &&
               task_rows == o.task_rows && pass_rows == o.pass_rows && rows_outer == o.rows_outer &&
               stage_lhs == o.stage_lhs && transpose_lhs == o.transpose_lhs && operand == o.operand &&
               acc_per_task == o.acc_per_task && reduction_block == o.reduction_block &&
               transposed_product == o.transposed_product;
    }
    bool operator!=(const CpuSchedule &o) const { return !(*this == o); }
};

const char *to_string(OperandRead o);

// Canonical text, e.g.
// "cpu:block=4x6:task_rows=48:pass_rows=16:order=panels:lhs=inline:operand=packed:acc=block";
// with acc=task a chunked reduction reads "acc=task:kc=512", and a transposed product ends in
// ":product=transposed".
std::string to_string(const CpuSchedule &s);
// The inverse of to_string; throws Error(bad_argument) naming the part that is wrong.
CpuSchedule parse_cpu_schedule(std::string_view text);
// Why s cannot be applied ("" when it can): register budget, divisibility, ranges.
std::string cpu_schedule_problem(const CpuSchedule &s, int vector_registers);

}  // namespace reluforge::sched
