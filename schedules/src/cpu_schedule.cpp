#include "reluforge/schedules/cpu_schedule.h"

#include "reluforge/error.h"

#include <fmt/format.h>

#include <charconv>

namespace reluforge::sched {

const char *to_string(OperandRead o) {
    switch (o) {
    case OperandRead::packed: return "packed";
    case OperandRead::transposed: return "transposed";
    case OperandRead::dot: return "dot";
    case OperandRead::direct: return "direct";
    }
    return "?";
}

std::string to_string(const CpuSchedule &s) {
    return fmt::format("cpu:block={}x{}:task_rows={}:pass_rows={}:order={}:lhs={}:operand={}:acc={}", s.block_vectors,
                       s.block_rows, s.task_rows, s.pass_rows, s.rows_outer ? "rows" : "panels",
                       s.stage_lhs ? "staged" : s.transpose_lhs ? "transposed" : "inline", to_string(s.operand),
                       s.acc_per_task ? "task" : "block") +
           (s.reduction_block != 0 ? fmt::format(":kc={}", s.reduction_block) : "") +  // any value round-trips
           (s.transposed_product ? ":product=transposed" : "");
}

namespace {

[[noreturn]] void bad(std::string_view text, const std::string &why) {
    throw Error(ErrorCode::bad_argument,
                fmt::format("CPU schedule '{}': {} (expected e.g. "
                            "'cpu:block=4x6:task_rows=48:pass_rows=16:order=panels:lhs=inline:operand=packed:acc=block')",
                            text, why));
}

int number(std::string_view text, std::string_view field, std::string_view digits) {
    int v = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (ec != std::errc{} || end != digits.data() + digits.size()) {
        bad(text, fmt::format("{} has '{}', not a number", field, digits));
    }
    return v;
}

}  // namespace

CpuSchedule parse_cpu_schedule(std::string_view text) {
    CpuSchedule s;
    std::string_view rest = text;
    auto next = [&]() {
        const std::size_t colon = rest.find(':');
        std::string_view part = rest.substr(0, colon);
        rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
        return part;
    };
    if (next() != "cpu") bad(text, "does not start with 'cpu'");
    const char *fields[] = {"block", "task_rows", "pass_rows", "order", "lhs", "operand", "acc", "kc", "product"};
    for (const char *field : fields) {
        // acc= came later: a text without it (an older tuning database's) means acc=block; kc=
        // and product= are only written when they differ from the default.
        const std::string_view name(field);
        const bool optional = name == "acc" || name == "kc" || name == "product";
        if (rest.empty() && optional) break;
        if (name == "kc" && rest.substr(0, 8) == "product=") continue;
        const std::string_view part = next();
        const std::string prefix = std::string(field) + "=";
        if (part.substr(0, prefix.size()) != prefix) bad(text, fmt::format("'{}' is not {}=...", part, field));
        const std::string_view value = part.substr(prefix.size());
        if (prefix == "block=") {
            const std::size_t x = value.find('x');
            if (x == std::string_view::npos) bad(text, "block is not <vectors>x<rows>");
            s.block_vectors = number(text, "block", value.substr(0, x));
            s.block_rows = number(text, "block", value.substr(x + 1));
        } else if (prefix == "task_rows=") {
            s.task_rows = number(text, field, value);
        } else if (prefix == "pass_rows=") {
            s.pass_rows = number(text, field, value);
        } else if (prefix == "order=") {
            if (value != "rows" && value != "panels") bad(text, fmt::format("order is '{}', not rows or panels", value));
            s.rows_outer = value == "rows";
        } else if (prefix == "lhs=") {
            if (value != "staged" && value != "inline" && value != "transposed") {
                bad(text, fmt::format("lhs is '{}', not inline, staged or transposed", value));
            }
            s.stage_lhs = value == "staged";
            s.transpose_lhs = value == "transposed";
        } else if (prefix == "operand=") {
            bool known = false;
            for (OperandRead o : {OperandRead::packed, OperandRead::transposed, OperandRead::direct, OperandRead::dot}) {
                if (value == to_string(o)) s.operand = o, known = true;
            }
            if (!known) bad(text, fmt::format("operand is '{}', not packed, transposed, direct or dot", value));
        } else if (prefix == "acc=") {
            if (value != "task" && value != "block") bad(text, fmt::format("acc is '{}', not task or block", value));
            s.acc_per_task = value == "task";
        } else if (prefix == "kc=") {
            s.reduction_block = number(text, field, value);
        } else {
            if (value != "transposed") bad(text, fmt::format("product is '{}', not transposed", value));
            s.transposed_product = true;
        }
    }
    if (!rest.empty()) bad(text, fmt::format("unexpected '{}' at the end", rest));
    return s;
}

std::string cpu_schedule_problem(const CpuSchedule &s, int vector_registers) {
    if (s.block_vectors < 1 || s.block_rows < 1 || s.task_rows < 1 || s.pass_rows < 1) {
        return "every size must be at least 1";
    }
    // Bounds that no useful schedule reaches, checked first so that nothing below can overflow
    // (a tuning database is untrusted input).
    if (s.block_vectors > 32 || s.block_rows > 64 || s.task_rows > 4096 || s.pass_rows > 4096) {
        return "sizes must stay within block=32x64, task_rows=4096, pass_rows=4096";
    }
    // The accumulators, one operand vector per column of the block, and the broadcast value.
    if (s.block_vectors * s.block_rows + s.block_vectors + 1 > vector_registers) {
        return fmt::format("a {}x{} block needs {} vector registers; the target has {}", s.block_vectors,
                           s.block_rows, s.block_vectors * s.block_rows + s.block_vectors + 1, vector_registers);
    }
    if (s.reduction_block < 0 || s.reduction_block > 65536) return "kc must be within 0..65536";
    if (s.stage_lhs && s.transpose_lhs) return "lhs is staged or transposed, not both";
    if (s.reduction_block > 0 && !s.acc_per_task) return "kc (a chunked reduction) needs acc=task";
    if (s.transposed_product && s.operand != OperandRead::packed && s.operand != OperandRead::direct) {
        return "product=transposed reads dZ's transposed copy along its rows: operand must be packed or direct";
    }
    if (s.task_rows % s.block_rows != 0) {
        return fmt::format("task_rows {} is not a multiple of block rows {}", s.task_rows, s.block_rows);
    }
    return "";
}

}  // namespace reluforge::sched
