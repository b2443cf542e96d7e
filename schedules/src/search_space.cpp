#include "reluforge/schedules/search_space.h"

#include "reluforge/schedules/default_table.h"
#include "reluforge/signature.h"

#include <algorithm>
#include <array>

namespace reluforge::sched {

int vector_registers(Isa isa) { return isa == Isa::avx512 ? 32 : 16; }

std::vector<CpuSchedule> cpu_search_space(const KernelSpec &spec, Isa isa) {
    std::vector<CpuSchedule> out;
    auto add = [&](const CpuSchedule &s) {
        if (cpu_schedule_problem(s, vector_registers(isa)).empty() && std::find(out.begin(), out.end(), s) == out.end()) {
            out.push_back(s);
        }
    };
    for (const auto &choice : default_cpu_schedules(spec, isa)) add(choice.schedule);
    if (spec.op == Op::activation_backward) {
        // Elementwise only: the pass's row tasks are the one knob.
        CpuSchedule s = default_cpu_schedules(spec, isa).back().schedule;
        for (int rows : {4, 8, 16, 32, 64, 128}) {
            s.pass_rows = rows;
            add(s);
        }
        return out;
    }
    const bool transposed_read = reads_weight_transposed(spec);
    const int regs = vector_registers(isa);
    for (int v = 1; v <= 6; v++) {
        for (int r = 1; r <= 14; r++) {
            // Fewer than 8 accumulators cannot cover the FMA latency on two pipes.
            if (v * r < 8 || v * r + v + 1 > regs) continue;
            for (int tasks : {1, 2, 4, 8, 16, 32}) {
                if (r * tasks > 384) continue;
                for (bool rows_outer : {false, true}) {
                    for (bool stage_lhs : {false, true}) {
                        if (stage_lhs && spec.op != Op::backward_weight) continue;
                        for (OperandRead transpose : {OperandRead::packed, OperandRead::transposed, OperandRead::direct, OperandRead::dot}) {
                            // backward_data and backward_weight over [K,N] weights as the
                            // transposed product: its right operand (dZᵀ, X) is read along its
                            // rows, packed or in place.
                            if (has_transposed_product(spec) && (transpose == OperandRead::packed || transpose == OperandRead::direct)) {
                                CpuSchedule product{v, r, r * tasks, 16, rows_outer, false, transpose};
                                product.transposed_product = true;
                                add(product);
                                product.acc_per_task = true;
                                if (!rows_outer) add(product);
                            }
                            // Transposed tiles are for an operand read transposed, reading in
                            // place for one read along its rows; dot products where
                            // has_dot_products.
                            if (transpose == OperandRead::dot         ? !has_dot_products(spec)
                                : transpose == OperandRead::direct    ? transposed_read
                                : transpose == OperandRead::transposed ? !transposed_read
                                                                       : false) {
                                continue;
                            }
                            // Dot products have one loop order and no staging; their lanes
                            // live per task exactly when the reduction is chunked.
                            if (transpose == OperandRead::dot) {
                                if (rows_outer || stage_lhs) continue;
                                add({v, r, r * tasks, 16, false, false, transpose});
                                for (int kc : {256, 1024}) add({v, r, r * tasks, 16, false, false, transpose, true, kc});
                                continue;
                            }
                            add({v, r, r * tasks, 16, rows_outer, stage_lhs, transpose});
                            // backward_weight's left operand copied transposed once, instead of
                            // staged per task.
                            if (spec.op == Op::backward_weight && stage_lhs) {
                                CpuSchedule whole{v, r, r * tasks, 16, rows_outer, false, transpose};
                                whole.transpose_lhs = true;
                                add(whole);
                            }
                            // Accumulators per task pay where the epilogue is expensive, and
                            // with a chunked reduction where the batch is deep (backward_weight).
                            if (!rows_outer) add({v, r, r * tasks, 16, rows_outer, stage_lhs, transpose, true});
                            for (int kc : {128, 256, 512, 1024}) {
                                if (rows_outer || spec.op != Op::backward_weight) break;
                                add({v, r, r * tasks, 16, rows_outer, stage_lhs, transpose, true, kc});
                            }
                        }
                    }
                }
            }
        }
    }
    return out;
}

namespace {
// The fields a schedule's form reads: dot products have one loop order and no staging, and
// keep their lanes per task exactly when the reduction is chunked, so two dot schedules that
// differ only there are one schedule.
CpuSchedule effective(CpuSchedule s) {
    if (s.operand == OperandRead::dot) {
        // The dot form's lanes live per task exactly when the reduction is chunked.
        s.rows_outer = s.stage_lhs = s.transpose_lhs = false;
        s.acc_per_task = s.reduction_block > 0;
    }
    return s;
}
}  // namespace

std::vector<CpuSchedule> cpu_quick_space(const KernelSpec &spec, Isa isa, const CpuSchedule &around) {
    std::vector<CpuSchedule> out;
    auto add = [&](CpuSchedule s) {
        s.task_rows = std::max(s.block_rows, s.task_rows / s.block_rows * s.block_rows);
        s = effective(s);
        if (cpu_schedule_problem(s, vector_registers(isa)).empty() && s != effective(around) &&
            std::find(out.begin(), out.end(), s) == out.end()) {
            out.push_back(s);
        }
    };
    if (spec.op == Op::activation_backward) {
        for (int rows : {8, 32, 64}) {
            CpuSchedule s = around;
            s.pass_rows = rows;
            add(s);
        }
        return out;
    }
    const int regs = vector_registers(isa);
    // Register blocks of about the same number of accumulators, wider and narrower.
    const std::pair<int, int> blocks[] = {{4, 6}, {3, 8}, {2, 12}, {4, 5}, {5, 4}, {2, 6}, {3, 4}, {1, 8}};
    for (auto [v, r] : blocks) {
        if (v * r + v + 1 > regs) continue;
        CpuSchedule s = around;
        s.block_vectors = v;
        s.block_rows = r;
        s.task_rows = around.task_rows / around.block_rows * r;
        add(s);
    }
    for (int factor : {2, 4}) {
        CpuSchedule half = around, twice = around;
        half.task_rows = around.task_rows / factor;
        twice.task_rows = around.task_rows * factor;
        add(half);
        add(twice);
    }
    // The transposed product reads dZᵀ along its rows, as the operand of a kernel that reads W
    // along its rows. For backward_data over [K,N] weights it stands in for panels packed by
    // gathering W's columns, which lost to it at every shape measured (default_table.cpp), and
    // its alternative is the dot products. For backward_weight it is the default for narrow dW
    // only (default_table.cpp), and its neighbour is the plain product.
    const bool data_product = has_transposed_product(spec) && reads_weight_transposed(spec);
    const bool transposed_read = reads_weight_transposed(spec) && !around.transposed_product;
    for (OperandRead read : {OperandRead::packed, OperandRead::transposed, OperandRead::direct, OperandRead::dot}) {
        CpuSchedule other = around;
        other.operand = read;
        const bool packed_or_direct = read == OperandRead::packed || read == OperandRead::direct;
        if (read == OperandRead::packed && data_product) {
            other.transposed_product = true;
            other.acc_per_task = other.reduction_block > 0;
        }
        if (transposed_read ? read != OperandRead::direct : packed_or_direct) add(other);
    }
    if (around.transposed_product && data_product) {
        CpuSchedule dot = around;
        dot.transposed_product = false;
        dot.operand = OperandRead::dot;
        add(dot);
    } else if (around.transposed_product) {
        CpuSchedule plain = around;
        plain.transposed_product = false;
        add(plain);
    }
    if (around.transpose_lhs) {
        CpuSchedule staged = around;
        staged.transpose_lhs = false;
        staged.stage_lhs = staged.rows_outer = true;
        add(staged);
    }
    CpuSchedule order = around;
    order.rows_outer = !around.rows_outer;
    order.acc_per_task = order.acc_per_task && !order.rows_outer;
    add(order);
    CpuSchedule acc = around;
    acc.acc_per_task = !around.acc_per_task;
    acc.reduction_block = acc.acc_per_task ? around.reduction_block : 0;
    if (!acc.rows_outer || !acc.acc_per_task) add(acc);
    // The reduction's chunks, where it is chunked (half and twice) or dot products.
    const int kc = around.reduction_block;
    for (int other_kc : kc > 0 ? std::array{kc / 2, kc * 2} : std::array{256, 1024}) {
        CpuSchedule chunk = around;
        chunk.reduction_block = other_kc;
        chunk.acc_per_task = chunk.acc_per_task || around.operand == OperandRead::dot;
        if (around.reduction_block > 0 || around.operand == OperandRead::dot) add(chunk);
    }
    return out;
}

}  // namespace reluforge::sched
