// Schedules as values: canonical text, validity, the default table, and the engine compiling a
// schedule that is not the default one.
#include "jit_test_support.h"
#include "reluforge/jit/engine.h"
#include "reluforge/reluforge.h"
#include "reluforge/schedules/cpu_schedule.h"
#include "reluforge/cuda_capability.h"
#include "reluforge/detail/variants.h"
#include "reluforge/generator/apply_gpu.h"
#include "reluforge/generator/compile.h"
#include "reluforge/schedules/default_table.h"
#include "support/harness.h"
#include "support/relu_check.h"

#include <catch2/catch.hpp>

#include <array>
#include <cmath>

using namespace reluforge;
using namespace reluforge::sched;

TEST_CASE("a CPU schedule round-trips through its canonical text", "[schedule]") {
    const CpuSchedule s{3, 8, 64, 16, true, false, OperandRead::transposed};
    CHECK(to_string(s) == "cpu:block=3x8:task_rows=64:pass_rows=16:order=rows:lhs=inline:operand=transposed:acc=block");
    CHECK(parse_cpu_schedule(to_string(s)) == s);
    CHECK(parse_cpu_schedule(to_string(CpuSchedule{})) == CpuSchedule{});
    const CpuSchedule dot{6, 4, 48, 16, false, false, OperandRead::dot};
    CHECK(to_string(dot) == "cpu:block=6x4:task_rows=48:pass_rows=16:order=panels:lhs=inline:operand=dot:acc=block");
    CHECK(parse_cpu_schedule(to_string(dot)) == dot);
    CpuSchedule per_task;
    per_task.acc_per_task = true;
    CHECK(parse_cpu_schedule(to_string(per_task)) == per_task);
    per_task.reduction_block = 512;
    CHECK(to_string(per_task) == "cpu:block=4x6:task_rows=48:pass_rows=16:order=panels:lhs=inline:operand=packed:acc=task:kc=512");
    CHECK(parse_cpu_schedule(to_string(per_task)) == per_task);
    CpuSchedule chunked_per_block = per_task;
    chunked_per_block.acc_per_task = false;
    CHECK(cpu_schedule_problem(chunked_per_block, 32) == "kc (a chunked reduction) needs acc=task");
    CpuSchedule product;
    product.transposed_product = true;
    CHECK(to_string(product) == "cpu:block=4x6:task_rows=48:pass_rows=16:order=panels:lhs=inline:operand=packed:acc=block:product=transposed");
    CHECK(parse_cpu_schedule(to_string(product)) == product);
    CpuSchedule whole_lhs;
    whole_lhs.transpose_lhs = true;
    CHECK(to_string(whole_lhs) == "cpu:block=4x6:task_rows=48:pass_rows=16:order=panels:lhs=transposed:operand=packed:acc=block");
    CHECK(parse_cpu_schedule(to_string(whole_lhs)) == whole_lhs);
    whole_lhs.stage_lhs = true;
    CHECK(cpu_schedule_problem(whole_lhs, 32) == "lhs is staged or transposed, not both");
    product.acc_per_task = true;
    product.reduction_block = 256;
    CHECK(parse_cpu_schedule(to_string(product)) == product);
    product.operand = OperandRead::dot;
    CHECK(cpu_schedule_problem(product, 32) == "product=transposed reads dZ's transposed copy along its rows: operand must be packed or direct");
    // Texts from before acc= (older tuning databases) keep the accumulators per block.
    CHECK(parse_cpu_schedule("cpu:block=4x6:task_rows=48:pass_rows=16:order=panels:lhs=inline:operand=packed") == CpuSchedule{});
    const std::pair<const char *, const char *> bad[] = {
        {"gpu:block=4x6:task_rows=48:pass_rows=16:order=rows:lhs=inline:operand=packed", "does not start with 'cpu'"},
        {"cpu:block=4:task_rows=48:pass_rows=16:order=rows:lhs=inline:operand=packed", "block is not <vectors>x<rows>"},
        {"cpu:block=4x6:task_rows=4x:pass_rows=16:order=rows:lhs=inline:operand=packed", "task_rows has '4x', not a number"},
        {"cpu:block=4x6:task_rows=48:pass_rows=16:order=diagonal:lhs=inline:operand=packed", "order is 'diagonal'"},
        {"cpu:block=4x6:task_rows=48:pass_rows=16:order=rows:lhs=flipped:operand=packed", "lhs is 'flipped', not inline, staged or transposed"},
        {"cpu:block=4x6:task_rows=48:pass_rows=16:order=rows:lhs=staged:operand=flipped", "operand is 'flipped', not packed, transposed, direct or dot"},
        {"cpu:block=4x6:task_rows=48:pass_rows=16:order=rows:lhs=inline:operand=packed:x=1", "'x=1' is not acc=..."},
        {"cpu:block=4x6:task_rows=48:pass_rows=16:order=rows:lhs=inline:operand=packed:acc=block:x=1", "'x=1' is not kc=..."},
        {"cpu:block=4x6:task_rows=48:pass_rows=16:order=rows:lhs=inline:operand=packed:acc=task:kc=64:x=1", "'x=1' is not product=..."},
        {"cpu:block=4x6:task_rows=48:pass_rows=16:order=rows:lhs=inline:operand=packed:acc=task:kc=64:product=transposed:x=1", "unexpected 'x=1'"},
        {"cpu:block=4x6:task_rows=48:pass_rows=16:order=rows:lhs=inline:operand=packed:acc=block:product=plain", "product is 'plain', not transposed"},
        {"cpu:block=4x6:task_rows=48:pass_rows=16:order=rows:lhs=inline:operand=packed:acc=task:kc=6x", "kc has '6x', not a number"},
        {"cpu:block=4x6:task_rows=48:pass_rows=16:order=rows:lhs=inline:operand=packed:acc=tile", "acc is 'tile', not task or block"},
        {"cpu:block=4x6:pass_rows=16", "is not task_rows="},
    };
    for (const auto &[text, message] : bad) {
        INFO(text);
        CHECK_THROWS_WITH(parse_cpu_schedule(text), Catch::Contains(message));
    }
}

TEST_CASE("invalid schedules are named before anything compiles", "[schedule]") {
    CHECK(cpu_schedule_problem({4, 6, 48, 16, false}, 32) == "");
    CHECK_THAT(cpu_schedule_problem({4, 6, 48, 16, false}, 16), Catch::Contains("needs 29 vector registers"));
    CHECK_THAT(cpu_schedule_problem({4, 6, 50, 16, false}, 32), Catch::Contains("not a multiple of block rows 6"));
    CHECK_THAT(cpu_schedule_problem({0, 6, 48, 16, false}, 32), Catch::Contains("at least 1"));
}

TEST_CASE("the default table gives every spec valid variants, the last for every shape", "[schedule]") {
    for (const auto &spec : cases::kernel_specs()) {
        for (Isa isa : {Isa::sse41, Isa::avx2, Isa::avx512}) {
            INFO(to_string(spec) << " " << to_string(isa));
            const auto table = default_cpu_schedules(spec, isa);
            REQUIRE(!table.empty());
            CHECK(table.back().shape_rule == "");
            for (const auto &choice : table) {
                CHECK(ShapeRule::parse(choice.shape_rule).text() == choice.shape_rule);
                CHECK(cpu_schedule_problem(choice.schedule, isa == Isa::avx512 ? 32 : 16) == "");
            }
        }
    }
}

TEST_CASE("a library for given shapes keeps the variants their calls run on any CPU, and the last", "[schedule]") {
    const CpuSchedule a{2, 4, 48, 16}, b{3, 4, 48, 16}, c{4, 4, 48, 16}, d{5, 4, 48, 16}, e{6, 4, 48, 16};
    const std::vector<ScheduleChoice> table{
        {"cpu=zen5,k<=63", a}, {"k<=63", b}, {"m>=512", c}, {"cpu=intel_avx512,n<=15", d}, {"", e}};
    auto rules = [](const std::vector<ScheduleChoice> &t) {
        std::vector<std::string> out;
        for (const auto &choice : t) out.push_back(choice.shape_rule);
        return out;
    };
    // 70x19x10 (m, n, k): Zen 5 runs the first, the other kinds the second; m>=512 and the Intel
    // rule behind k<=63 run for no call of it.
    CHECK(rules(variants_for_shapes(table, {{70, 10, 19}})) == std::vector<std::string>{"cpu=zen5,k<=63", "k<=63", ""});
    CHECK(rules(variants_for_shapes(table, {{600, 10, 100}})) == std::vector<std::string>{"m>=512", ""});
    CHECK(rules(variants_for_shapes(table, {{100, 10, 100}})) == std::vector<std::string>{"cpu=intel_avx512,n<=15", ""});
    CHECK(rules(variants_for_shapes(table, {{100, 100, 100}})) == std::vector<std::string>{""});
    CHECK(rules(variants_for_shapes(table, {})) == std::vector<std::string>{""});
    // An extent the kernel does not have (0) holds no bound.
    CHECK(rules(variants_for_shapes(table, {{100, 10, 0}})) == std::vector<std::string>{"cpu=intel_avx512,n<=15", ""});

    // On the default table: every call of the given shapes runs, on every kind of CPU, the
    // schedule it runs with the whole table.
    const std::vector<Shape> layers{{1, 1, 1}, {70, 10, 19}, {4096, 64, 1024}, {256, 1024, 1024}, {64, 4096, 128},
                                    {9000, 256, 64}, {200, 10, 1024}};
    for (const auto &spec : cases::kernel_specs({parse_activation("relu"), parse_activation("gelu")})) {
        for (Isa isa : {Isa::sse41, Isa::avx2, Isa::avx512}) {
            const auto whole = default_cpu_schedules(spec, isa);
            std::vector<Shape> calls;
            for (const Shape &layer : layers) calls.push_back(call_shape(spec, layer));
            const auto kept = variants_for_shapes(whole, calls);
            INFO(to_string(spec) << " " << to_string(isa) << ": " << kept.size() << " of " << whole.size());
            std::vector<ShapeRule> whole_rules, kept_rules;
            for (const auto &choice : whole) whole_rules.push_back(ShapeRule::parse(choice.shape_rule));
            for (const auto &choice : kept) kept_rules.push_back(ShapeRule::parse(choice.shape_rule));
            CHECK(kept.back().shape_rule == "");
            for (const Shape &call : calls) {
                for (CpuKind cpu : kCpuKinds) {
                    CHECK(kept[select_variant(kept_rules, call, cpu)].schedule ==
                          whole[select_variant(whole_rules, call, cpu)].schedule);
                }
            }
        }
    }
}

TEST_CASE("the default table chooses by kind of CPU where a kind measured otherwise", "[schedule]") {
    // The entry of table whose rule holds first for shape on a CPU of that kind.
    auto chosen = [](const KernelSpec &spec, const Shape &shape, CpuKind kind) {
        for (const auto &choice : default_cpu_schedules(spec, Isa::avx512)) {
            if (ShapeRule::parse(choice.shape_rule).holds(shape, kind)) return choice.schedule;
        }
        FAIL("no entry holds");
        return CpuSchedule{};
    };
    const KernelSpec relu = parse_spec("forward:relu:bias=1"), gelu = parse_spec("forward:gelu:bias=1");
    const Shape narrow{16384, 128, 32}, fewer_rows{1024, 1024, 32}, k128{1024, 1024, 128};
    // K <= 64 from 2048 rows: Zen 5 runs column panels outermost, Zen 4 rows outermost.
    CHECK_FALSE(chosen(relu, narrow, CpuKind::zen5).rows_outer);
    CHECK(chosen(relu, narrow, CpuKind::zen4).rows_outer);
    CHECK(chosen(relu, narrow, CpuKind::intel_avx512).rows_outer);
    CHECK(chosen(relu, fewer_rows, CpuKind::zen5).rows_outer);
    // gelu (erf) keeps block accumulators on Zen 5 (and on Intel from K = 65), task accumulators
    // elsewhere.
    CHECK_FALSE(chosen(gelu, narrow, CpuKind::zen5).acc_per_task);
    CHECK_FALSE(chosen(gelu, k128, CpuKind::zen5).acc_per_task);
    CHECK_FALSE(chosen(gelu, k128, CpuKind::intel_avx512).acc_per_task);
    CHECK(chosen(gelu, k128, CpuKind::zen4).acc_per_task);
    CHECK_FALSE(chosen(relu, k128, CpuKind::zen4).acc_per_task);
    // Transposed reads are untouched by it (Zen 5 packs their panels in transposed tiles, below).
    CHECK(chosen(parse_spec("forward:relu:bias=1:weight=nk"), narrow, CpuKind::zen4).rows_outer);
    CHECK(chosen(parse_spec("forward:relu:bias=1:weight=nk"), narrow, CpuKind::zen5).operand == OperandRead::transposed);
    // backward_data over [K,N] weights below 512 rows: the transposed product on Zen 4, Zen 5
    // and Intel, dot products (up to 256 rows) on other CPUs; over a reduction of 256 and less
    // packed panels everywhere, from 512 rows W's panels packed in transposed tiles.
    const KernelSpec data = parse_spec("backward_data:relu:save=mask:weight=kn");
    const Shape batch256{256, 1024, 1024}, batch512{512, 1024, 1024}, shallow{256, 256, 1024};  // {m, n, k}
    CHECK(chosen(data, batch256, CpuKind::zen5).transposed_product);
    CHECK(chosen(data, batch256, CpuKind::zen4).transposed_product);
    CHECK(chosen(data, batch256, CpuKind::other).operand == OperandRead::dot);
    CHECK_FALSE(chosen(data, batch256, CpuKind::other).transposed_product);
    CHECK_FALSE(chosen(data, shallow, CpuKind::zen5).transposed_product);
    CHECK(chosen(data, Shape{400, 1024, 1024}, CpuKind::zen5).transposed_product);
    CHECK(chosen(data, Shape{400, 1024, 1024}, CpuKind::intel_avx512).transposed_product);
    CHECK(chosen(data, batch256, CpuKind::intel_avx512).transposed_product);
    CHECK(chosen(data, Shape{400, 1024, 1024}, CpuKind::zen4).transposed_product);
    CHECK_FALSE(chosen(data, Shape{400, 1024, 1024}, CpuKind::other).transposed_product);
    // A reduction of at most 64 into 512 columns or more: panels outermost on Intel, Zen 5 and
    // Zen 4 (gelu with block accumulators on Zen 5, rows outermost on Zen 4), rows outermost
    // elsewhere.
    CHECK_FALSE(chosen(data, Shape{4096, 64, 1024}, CpuKind::intel_avx512).rows_outer);
    CHECK_FALSE(chosen(data, Shape{4096, 64, 1024}, CpuKind::zen5).rows_outer);
    CHECK_FALSE(chosen(data, Shape{4096, 64, 1024}, CpuKind::zen4).rows_outer);
    CHECK(chosen(data, Shape{4096, 64, 1024}, CpuKind::other).rows_outer);
    CHECK(chosen(data, Shape{4096, 64, 256}, CpuKind::zen4).rows_outer);
    CHECK(chosen(data, Shape{4096, 64, 256}, CpuKind::intel_avx512).rows_outer);
    CHECK(chosen(data, Shape{4096, 64, 256}, CpuKind::zen5).rows_outer);
    const KernelSpec data_gelu = parse_spec("backward_data:gelu:prev_bias=1:weight=kn:save=z");
    CHECK_FALSE(chosen(data_gelu, Shape{4096, 64, 1024}, CpuKind::zen5).acc_per_task);
    CHECK_FALSE(chosen(data_gelu, Shape{4096, 64, 1024}, CpuKind::zen5).rows_outer);
    CHECK(chosen(data_gelu, Shape{4096, 64, 1024}, CpuKind::zen4).rows_outer);
    CHECK_FALSE(chosen(data, Shape{512, 1024, 1024}, CpuKind::zen5).transposed_product);
    // From 512 rows, panels packed from W in transposed tiles; on Intel gathered from W's columns.
    for (CpuKind kind : {CpuKind::zen4, CpuKind::zen5}) CHECK(chosen(data, batch512, kind).operand == OperandRead::transposed);
    CHECK(chosen(data, batch512, CpuKind::intel_avx512).operand == OperandRead::packed);
    CHECK_FALSE(chosen(data, batch512, CpuKind::intel_avx512).transposed_product);
    const KernelSpec weight = parse_spec("backward_weight:bias=1:weight=kn");
    // Fewer than 64 output columns: blocks of 2 vectors by 12 rows, by 6 on Intel, where
    // backward_weight keeps 12.
    const Shape narrow_dx{4096, 256, 32}, narrow_y{4096, 32, 1024};  // {m, n, k}
    for (CpuKind kind : {CpuKind::zen4, CpuKind::zen5, CpuKind::intel_avx512}) {
        const int rows = kind == CpuKind::intel_avx512 ? 6 : 12;
        CHECK(chosen(data, narrow_dx, kind).block_vectors == 2);
        CHECK(chosen(data, narrow_dx, kind).block_rows == rows);
        CHECK(chosen(relu, narrow_y, kind).block_rows == rows);
        CHECK(chosen(weight, Shape{1024, 32, 512}, kind).block_rows == 12);
        // ... but on Intel and Zen 5 48 columns (and other widths than 32 and 64 up to 95) run as
        // the transposed product, dW's columns its rows, within bounds of each kind's own.
        const bool product = kind != CpuKind::zen4;
        CHECK(chosen(weight, Shape{1024, 48, 512}, kind).transposed_product == product);
        CHECK(chosen(weight, Shape{1024, 80, 512}, kind).transposed_product == product);
        CHECK(chosen(weight, Shape{1024, 20, 1024}, kind).transposed_product == product);
        CHECK(chosen(weight, Shape{1024, 16, 1024}, kind).transposed_product == product);
        CHECK_FALSE(chosen(weight, Shape{1024, 64, 512}, kind).transposed_product);
        CHECK_FALSE(chosen(weight, Shape{1024, 32, 512}, kind).transposed_product);
    }
    // Zen 5's bounds: 48 to 63 columns from a batch of 512 (Intel 256), 65 to 95 from 64 rows of
    // dW at any batch (Intel up to 4096).
    CHECK(chosen(weight, Shape{256, 48, 1024}, CpuKind::intel_avx512).transposed_product);
    CHECK_FALSE(chosen(weight, Shape{256, 48, 1024}, CpuKind::zen5).transposed_product);
    CHECK(chosen(weight, Shape{8192, 80, 1024}, CpuKind::zen5).transposed_product);
    CHECK_FALSE(chosen(weight, Shape{8192, 80, 1024}, CpuKind::intel_avx512).transposed_product);
    CHECK_FALSE(chosen(weight, Shape{16384, 72, 32}, CpuKind::zen5).transposed_product);
    // Zen 4: dZ read in place as the left operand over a batch of 2048 or more into at most 384
    // columns (from a reduction of 256): the transposed product for [K,N], the plain one for
    // [N,K] (from 256 columns and a batch of 1024, where Xᵀ was staged).
    const KernelSpec dw_nk = parse_spec("backward_weight:bias=0:weight=nk");
    for (const Shape &shape : {Shape{4096, 64, 1024}, Shape{2048, 16, 256}, Shape{8192, 384, 512}}) {
        CHECK(chosen(weight, shape, CpuKind::zen4).transposed_product);
        CHECK_FALSE(chosen(weight, shape, CpuKind::zen4).stage_lhs);
        CHECK_FALSE(chosen(weight, shape, CpuKind::other).transposed_product);
    }
    CHECK_FALSE(chosen(weight, Shape{1024, 64, 1024}, CpuKind::zen4).transposed_product);
    CHECK_FALSE(chosen(weight, Shape{4096, 512, 1024}, CpuKind::zen4).transposed_product);
    CHECK_FALSE(chosen(weight, Shape{4096, 64, 128}, CpuKind::zen4).transposed_product);
    CHECK_FALSE(chosen(dw_nk, Shape{1024, 256, 1024}, CpuKind::zen4).stage_lhs);
    CHECK(chosen(dw_nk, Shape{1024, 256, 1024}, CpuKind::other).stage_lhs);
    CHECK(chosen(dw_nk, Shape{2048, 512, 1024}, CpuKind::zen4).stage_lhs);
    // backward_weight over [K,N] weights with a dW under 16 columns: the transposed product on
    // every kind at any depth, X read in place in blocks of 5 rows; not from 16 columns, not for
    // [N,K], which reads X in place in blocks of 5 rows of dW as well.
    const KernelSpec weight_by_rows = parse_spec("backward_weight:bias=1:weight=nk");
    for (CpuKind kind : {CpuKind::zen5, CpuKind::zen4, CpuKind::intel_avx512}) {
        CHECK(chosen(weight, Shape{256, 10, 128}, kind).transposed_product);
        CHECK(chosen(weight, Shape{1024, 15, 1024}, kind).transposed_product);
        CHECK(chosen(weight, Shape{256, 10, 128}, kind).operand == OperandRead::direct);
        CHECK(chosen(weight, Shape{256, 10, 128}, kind).block_rows == 5);
        CHECK_FALSE(chosen(weight, Shape{256, 16, 128}, kind).transposed_product);
        CHECK(chosen(weight, Shape{37, 10, 19}, kind).transposed_product);
        CHECK_FALSE(chosen(weight_by_rows, Shape{256, 10, 128}, kind).transposed_product);
        CHECK(chosen(weight_by_rows, Shape{256, 10, 128}, kind).operand == OperandRead::direct);
        // From 16 rows of dW not the narrow entry's blocks of 5 rows (Zen 4 and Zen 5 still read X in place).
        CHECK(chosen(weight_by_rows, Shape{256, 16, 128}, kind).block_rows != 5);
        CHECK((chosen(weight_by_rows, Shape{256, 16, 128}, kind).operand == OperandRead::direct) == (kind != CpuKind::intel_avx512));
    }
    // AVX2, every kind: X read in place in blocks of 2 vectors by 5 rows of dW, for either layout.
    for (const KernelSpec &spec : {weight, weight_by_rows}) {
        const auto avx2 = default_cpu_schedules(spec, Isa::avx2);
        const CpuSchedule narrow_dw = avx2[variant_for(avx2, Shape{256, 10, 128})].schedule;
        CHECK(narrow_dw.operand == OperandRead::direct);
        CHECK((narrow_dw.block_vectors == 2 && narrow_dw.block_rows == 5));
        CHECK(narrow_dw.transposed_product == (spec.weight == WeightLayout::kn));
        CHECK(avx2[variant_for(avx2, Shape{256, 16, 128})].schedule.operand != OperandRead::direct);
    }
    // Forward over [K,N] weights, 6 to 128 rows: W read in place on AMD; on Intel from 32 rows
    // packed panels; 7 and 8 rows the small batch's stream (chunks of the reduction) on Intel,
    // and on Zen 5 over a large W.
    for (CpuKind kind : {CpuKind::zen5, CpuKind::zen4, CpuKind::intel_avx512}) {
        const bool intel = kind == CpuKind::intel_avx512, streams = kind != CpuKind::zen4;
        CHECK((chosen(relu, Shape{64, 1024, 1024}, kind).operand == OperandRead::direct) != intel);
        CHECK((chosen(relu, Shape{128, 512, 512}, kind).operand == OperandRead::direct) != intel);
        CHECK(chosen(relu, Shape{31, 1024, 1024}, kind).operand == OperandRead::direct);
        CHECK(chosen(relu, Shape{6, 1024, 1024}, kind).reduction_block == 0);
        CHECK((chosen(relu, Shape{8, 1024, 1024}, kind).reduction_block > 0) == streams);
        CHECK((chosen(relu, Shape{7, 1024, 1024}, kind).reduction_block > 0) == streams);
        CHECK((chosen(relu, Shape{8, 128, 128}, kind).reduction_block > 0) == intel);
    }
    // Forward over [N,K] weights: dot products up to 256 rows, on Intel up to 127, on Zen 5 up
    // to 128 with the reduction in chunks; above, Zen 5 packs panels in transposed tiles, at any
    // reduction, Zen 4 where the reduction is a multiple of 512.
    const KernelSpec relu_nk = parse_spec("forward:relu:bias=1:weight=nk");
    for (CpuKind kind : {CpuKind::zen5, CpuKind::zen4, CpuKind::intel_avx512}) {
        const bool intel = kind == CpuKind::intel_avx512, zen5 = kind == CpuKind::zen5;
        CHECK((chosen(relu_nk, Shape{256, 1024, 1024}, kind).operand == OperandRead::dot) == (kind == CpuKind::zen4));
        CHECK((chosen(relu_nk, Shape{128, 1024, 4096}, kind).operand == OperandRead::dot) != intel);
        CHECK((chosen(relu_nk, Shape{128, 1024, 4096}, kind).reduction_block == 1024) == zen5);
        CHECK(chosen(relu_nk, Shape{127, 1024, 1024}, kind).operand == OperandRead::dot);
        CHECK(chosen(relu_nk, Shape{512, 1024, 1024}, kind).operand != OperandRead::dot);
        for (const Shape &shape : {Shape{129, 1024, 1024}, Shape{256, 1024, 4096}, Shape{16384, 128, 32}, Shape{1000, 500, 784}}) {
            CHECK((chosen(relu_nk, shape, kind).operand == OperandRead::transposed) == zen5);
        }
        // ... and Zen 4 from 257 rows where W's rows are a multiple of 512 long.
        for (const Shape &shape : {Shape{257, 1024, 1024}, Shape{2048, 2048, 2048}, Shape{512, 512, 4096}}) {
            CHECK((chosen(relu_nk, shape, kind).operand == OperandRead::transposed) == (zen5 || kind == CpuKind::zen4));
        }
        CHECK(chosen(relu_nk, Shape{256, 1024, 1024}, kind).reduction_block == 0);
    }
    // Zen 5 packs W's panels from 96 to 128 rows where its rows are 4 KiB apart.
    for (CpuKind kind : {CpuKind::zen5, CpuKind::zen4}) {
        const bool zen5 = kind == CpuKind::zen5;
        CHECK((chosen(relu, Shape{128, 1024, 1024}, kind).operand == OperandRead::packed) == zen5);
        CHECK((chosen(relu, Shape{96, 1024, 768}, kind).operand == OperandRead::packed) == zen5);
        CHECK(chosen(relu, Shape{64, 1024, 1024}, kind).operand == OperandRead::direct);
        CHECK(chosen(relu, Shape{128, 1000, 1024}, kind).operand == OperandRead::direct);
        CHECK(chosen(relu, Shape{128, 1024, 512}, kind).operand == OperandRead::direct);
    }
    // Zen 5, forward over a reduction from 4096 with rows a multiple of 4: one task of 4-row
    // blocks in chunks of 1024, over [K,N] weights up to 256 rows, over packed ones at any batch.
    const KernelSpec relu_packed = parse_spec("forward:relu:bias=1:weight=packed");
    for (CpuKind kind : {CpuKind::zen5, CpuKind::zen4, CpuKind::intel_avx512}) {
        const bool zen5 = kind == CpuKind::zen5;
        auto four_rows_chunked = [&](const KernelSpec &spec, const Shape &shape) {
            const CpuSchedule s = chosen(spec, shape, kind);
            return s.block_rows == 4 && s.task_rows == 256 && s.reduction_block == 1024;
        };
        CHECK(four_rows_chunked(relu, Shape{256, 1024, 4096}) == zen5);
        CHECK(four_rows_chunked(relu, Shape{16, 1024, 8192}) == zen5);
        CHECK_FALSE(four_rows_chunked(relu, Shape{250, 1024, 4096}));
        CHECK_FALSE(four_rows_chunked(relu, Shape{384, 1024, 4096}));
        CHECK_FALSE(four_rows_chunked(relu, Shape{256, 1024, 2048}));
        CHECK(four_rows_chunked(relu_packed, Shape{1024, 1024, 4096}) == zen5);
        CHECK_FALSE(four_rows_chunked(relu_packed, Shape{250, 1024, 4096}));
        CHECK((chosen(relu_packed, Shape{250, 1024, 4096}, kind).reduction_block == 1024) == zen5);
    }
    // Forward over [K,N] weights into fewer than 16 columns from 32 rows: dot products on every
    // kind; not from 16 columns, not under 32 rows.
    for (CpuKind kind : {CpuKind::zen5, CpuKind::zen4, CpuKind::intel_avx512}) {
        CHECK(chosen(relu, Shape{256, 10, 128}, kind).operand == OperandRead::dot);
        CHECK(chosen(gelu, Shape{1024, 1, 1024}, kind).operand == OperandRead::dot);
        CHECK(chosen(relu, Shape{256, 16, 128}, kind).operand != OperandRead::dot);
        CHECK(chosen(relu, Shape{31, 10, 128}, kind).operand != OperandRead::dot);
    }
    // backward_weight, [K,N]: few columns over a deep batch chunked per task on Zen 5 and Intel,
    // staged Xᵀ on Zen 4; wide outputs staged from 1024 rows, on Intel at any batch.
    // Intel in shorter chunks: 32 steps up to 80 columns, 64 above.
    auto chunk = [&](const Shape &shape, CpuKind kind) { return chosen(weight, shape, kind).reduction_block; };
    CHECK(chunk(Shape{4096, 64, 1024}, CpuKind::zen5) == 128);
    CHECK(chunk(Shape{4096, 64, 1024}, CpuKind::intel_avx512) == 32);
    CHECK(chunk(Shape{4096, 128, 512}, CpuKind::intel_avx512) == 64);
    CHECK(chunk(Shape{4096, 64, 1024}, CpuKind::zen4) == 0);
    // ... and the 4x4 tasks over 32 to 127 rows of dW in chunks of 128 (512 elsewhere).
    CHECK(chunk(Shape{16384, 128, 32}, CpuKind::intel_avx512) == 128);
    CHECK(chunk(Shape{8192, 256, 64}, CpuKind::intel_avx512) == 128);
    CHECK(chunk(Shape{8192, 256, 128}, CpuKind::intel_avx512) == 512);
    CHECK(chunk(Shape{16384, 128, 32}, CpuKind::zen5) == 512);
    // On Intel, X (or dZ) transposed whole from 128 rows of the batch, staged per task below.
    CHECK(chosen(weight, Shape{256, 1024, 1024}, CpuKind::intel_avx512).transpose_lhs);
    const KernelSpec weight_nk = parse_spec("backward_weight:bias=1:weight=nk");
    CHECK(chosen(weight_nk, Shape{256, 1024, 1024}, CpuKind::intel_avx512).transpose_lhs);
    CHECK(chosen(weight, Shape{64, 1024, 1024}, CpuKind::intel_avx512).stage_lhs);
    // ... and from 64 rows into 512 columns or more ([K,N] 1024x128x1024; [N,K] 4096x512x64),
    // with the transposed product over 96 to 128 columns of a deep [K,N] dW (4096x1024x128).
    CHECK(chosen(weight, Shape{1024, 1024, 128}, CpuKind::intel_avx512).transpose_lhs);
    CHECK(chosen(weight_nk, Shape{4096, 64, 512}, CpuKind::intel_avx512).transpose_lhs);
    const CpuSchedule deep_narrow = chosen(weight, Shape{4096, 128, 1024}, CpuKind::intel_avx512);
    CHECK((deep_narrow.transpose_lhs && deep_narrow.transposed_product));
    // [N,K], 16 to 255 rows of dW over a batch of at most 512: X read in place on AMD.
    for (CpuKind kind : {CpuKind::zen4, CpuKind::zen5, CpuKind::intel_avx512}) {
        const bool amd = kind != CpuKind::intel_avx512;
        CHECK((chosen(weight_nk, Shape{256, 48, 1024}, kind).operand == OperandRead::direct) == amd);
        CHECK((chosen(weight_nk, Shape{512, 200, 1024}, kind).operand == OperandRead::direct) == amd);
        CHECK(chosen(weight_nk, Shape{1024, 48, 1024}, kind).operand != OperandRead::direct);
        CHECK(chosen(weight_nk, Shape{256, 256, 1024}, kind).operand != OperandRead::direct);
        CHECK(chosen(weight, Shape{256, 48, 1024}, kind).operand != OperandRead::direct);
    }
    for (CpuKind kind : {CpuKind::zen4, CpuKind::zen5}) {
        CHECK_FALSE(chosen(weight, Shape{1024, 1024, 128}, kind).transpose_lhs);
        CHECK_FALSE(chosen(weight_nk, Shape{4096, 64, 512}, kind).transpose_lhs);
        // Intel's transposed product over 96 to 128 columns (Xᵀ's copy); Zen 4 reads dZ in place.
        CHECK(chosen(weight, Shape{4096, 128, 1024}, kind).transposed_product == (kind == CpuKind::zen4));
        CHECK_FALSE(chosen(weight, Shape{4096, 128, 1024}, kind).transpose_lhs);
    }
    CHECK_FALSE(chosen(weight, Shape{1024, 1024, 1024}, CpuKind::zen4).transpose_lhs);
    CHECK(chosen(weight, Shape{1024, 1024, 1024}, CpuKind::zen5).transpose_lhs);  // from 256 rows of dW
    CHECK_FALSE(chosen(weight, Shape{256, 1024, 1024}, CpuKind::zen4).stage_lhs);
    CHECK_FALSE(chosen(weight, Shape{256, 1024, 1024}, CpuKind::zen5).stage_lhs);
    CHECK(chosen(weight, Shape{1024, 1024, 1024}, CpuKind::zen4).stage_lhs);
}

TEST_CASE("the AVX2 table chooses Zen 3's entries on Zen 3 only", "[schedule]") {
    auto chosen = [](const char *spec, const Shape &shape, CpuKind kind) {
        for (const auto &choice : default_cpu_schedules(parse_spec(spec), Isa::avx2)) {
            if (ShapeRule::parse(choice.shape_rule).holds(shape, kind)) return choice.schedule;
        }
        FAIL("no entry holds");
        return CpuSchedule{};
    };
    // Shapes are {m, n, k}. backward_weight into 256 columns of dW or more: Xᵀ (dZᵀ) transposed
    // whole, in 3x4 blocks; narrower dW keeps the staged Xᵀ.
    for (const char *weight : {"backward_weight:bias=0", "backward_weight:bias=0:weight=nk"}) {
        const bool kn = std::string(weight).find("nk") == std::string::npos;
        const Shape wide{1024, 1024, 1024}, narrow = kn ? Shape{1024, 128, 1024} : Shape{1024, 1024, 128};
        const CpuSchedule zen3 = chosen(weight, wide, CpuKind::zen3);
        CHECK((zen3.transpose_lhs && zen3.block_vectors == 3 && zen3.block_rows == 4));
        CHECK_FALSE(chosen(weight, wide, CpuKind::other).transpose_lhs);
        CHECK_FALSE(chosen(weight, narrow, CpuKind::zen3).transpose_lhs);
    }
    // backward_data up to 256 rows: the transposed product, for chained activations too, with
    // its blocks' accumulators; elsewhere dot products.
    for (const char *data : {"backward_data:identity", "backward_data:relu:prev_bias=1:save=mask",
                             "backward_data:gelu:prev_bias=1:save=z"}) {
        const CpuSchedule zen3 = chosen(data, Shape{64, 4096, 1024}, CpuKind::zen3);
        CHECK((zen3.transposed_product && !zen3.acc_per_task));
        CHECK(chosen(data, Shape{64, 4096, 1024}, CpuKind::other).operand == OperandRead::dot);
        CHECK_FALSE(chosen(data, Shape{384, 1024, 1024}, CpuKind::zen3).transposed_product);
    }
    // Forward gelu deeper than 64: block accumulators on Zen 3, task ones elsewhere.
    CHECK_FALSE(chosen("forward:gelu:bias=1", Shape{1024, 1024, 128}, CpuKind::zen3).acc_per_task);
    CHECK(chosen("forward:gelu:bias=1", Shape{1024, 1024, 128}, CpuKind::other).acc_per_task);
    CHECK(chosen("forward:gelu:bias=1", Shape{8192, 256, 64}, CpuKind::zen3).rows_outer);
    // Other activations past K = 64 into 512 columns or more: 3x4 blocks on Zen 3 only.
    const CpuSchedule wide = chosen("forward:relu:bias=1", Shape{1024, 1024, 1024}, CpuKind::zen3);
    CHECK((wide.block_vectors == 3 && wide.block_rows == 4));
    CHECK(chosen("forward:relu:bias=1", Shape{1024, 1024, 1024}, CpuKind::other).block_vectors == 2);
    CHECK(chosen("forward:relu:bias=1", Shape{4096, 64, 1024}, CpuKind::zen3).block_vectors == 2);
    // The SSE4.1 table shares the AVX2 one's entries but none of Zen 3's, which were measured on
    // AVX2 only.
    for (const char *spec : {"forward:relu:bias=1", "forward:gelu:bias=1", "backward_weight:bias=0",
                             "backward_data:identity"}) {
        for (const auto &choice : default_cpu_schedules(parse_spec(spec), Isa::sse41)) {
            CHECK(choice.shape_rule.find("zen3") == std::string::npos);
        }
    }
}

TEST_CASE("the engine compiles a schedule given as a value, and refuses an invalid one", "[schedule][jit]") {
    jit::Engine engine(jit_test::quiet_options(jit_test::fresh_dir("schedules")));
    const KernelSpec spec = parse_spec("forward:relu:bias=1");
    CHECK_THROWS_WITH(engine.get_scheduled(spec, Isa::sse41, {4, 6, 48, 16, false}),
                      Catch::Contains("needs 29 vector registers; the target has 16"));
    CHECK_THROWS_WITH(engine.get_variant(spec, Isa::sse41, 7), Catch::Contains("has 2 schedule variants on sse41, not 8"));
    const KernelHandle odd = engine.get_scheduled(spec, Isa::sse41, {1, 3, 9, 5, true});
    CHECK(odd.fn != nullptr);
    CHECK(engine.cache_key(spec, Isa::sse41, CpuSchedule{1, 3, 9, 5, true}) != engine.cache_key(spec, Isa::sse41));
    // A shape with tails of every tile: 3-row blocks, 9-row tasks (whole ones), 4-wide vectors.
    const int M = 29, K = 7, N = 11;
    ref::Mat x(M, K), w(K, N), b(1, N), y(M, N, 0);
    ref::fill_uniform(x, 5);
    ref::fill_uniform(w, 6);
    ref::fill_uniform(b, 7);
    run_kernel(odd, {Tensor::matrix(x.v.data(), M, K), Tensor::matrix(w.v.data(), K, N),
                     Tensor::vector(b.v.data(), N), Tensor::matrix(y.v.data(), M, N)});
    int wrong = 0;
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            double z = b(0, j);
            for (int k = 0; k < K; k++) z += double(x(i, k)) * w(k, j);
            const double want = z > 0 ? z : 0;
            wrong += std::abs(y(i, j) - want) > 1e-5 * (1 + std::abs(z));
        }
    }
    CHECK(wrong == 0);
}

TEST_CASE("dot-product schedules compute right at every tail, on every ISA", "[schedule][jit]") {
    jit::Engine engine(jit_test::quiet_options(jit_test::fresh_dir("dot_schedules")));
    // forward with [N,K] weights and backward_data with [K,N] both read W along the reduction;
    // forward with [K,N] weights gathers each block's columns of W.
    const KernelSpec forward = parse_spec("forward:relu:bias=1:weight=nk");
    const KernelSpec forward_kn = parse_spec("forward:relu:bias=1:weight=kn");
    const KernelSpec backward = parse_spec("backward_data:identity:prev_bias=0:weight=kn");
    // (rows, reduction, columns): reductions of whole vectors plus a tail, of less than one
    // vector (tail only), of exactly two; outputs with fewer rows or columns than a block.
    const int shapes[][3] = {{29, 37, 11}, {5, 3, 7}, {13, 32, 6}, {3, 21, 2}, {8, 70, 25}};
    for (Isa isa : {Isa::sse41, Isa::avx2, Isa::avx512}) {
        if (isa > host_isa()) continue;
        const CpuSchedule dot{3, 4, 8, 16, false, false, OperandRead::dot};
        // The reduction in chunks of 32 (several chunks and a partial one at every ISA's width),
        // lanes per task of 8 rows: the same FMAs in the same order, so the same bits.
        const CpuSchedule chunked{3, 4, 8, 16, false, false, OperandRead::dot, true, 32};
        // Tasks of one block: the chunked tier's condition is the plain tier's.
        const CpuSchedule one_block_tasks{3, 4, 4, 16, false, false, OperandRead::dot, true, 32};
        const KernelHandle fwd = engine.get_scheduled(forward, isa, dot);
        const KernelHandle bwd = engine.get_scheduled(backward, isa, dot);
        const KernelHandle fwd_chunked = engine.get_scheduled(forward, isa, chunked);
        const KernelHandle bwd_chunked = engine.get_scheduled(backward, isa, chunked);
        const KernelHandle fwd_one = engine.get_scheduled(forward, isa, one_block_tasks);
        const KernelHandle bwd_one = engine.get_scheduled(backward, isa, one_block_tasks);
        const KernelHandle fwd_kn = engine.get_scheduled(forward_kn, isa, dot);
        const KernelHandle fwd_kn_chunked = engine.get_scheduled(forward_kn, isa, chunked);
        for (const auto &[M, R, C] : shapes) {
            INFO(to_string(isa) << " " << M << "x" << R << "x" << C);
            // forward: y[M,C] = relu(x[M,R] · w[C,R]ᵀ + b); backward: dx[M,C] = dz[M,R] · w[C,R]ᵀ.
            ref::Mat x(M, R), w(C, R), b(1, C), y(M, C, 0), dx(M, C, 0), y_chunked(M, C, 0), dx_chunked(M, C, 0),
                y_one(M, C, 0), dx_one(M, C, 0);
            ref::fill_uniform(x, 11);
            ref::fill_uniform(w, 12);
            ref::fill_uniform(b, 13);
            auto run = [&](const KernelHandle &f, const KernelHandle &bw, ref::Mat &y_out, ref::Mat &dx_out) {
                run_kernel(f, {Tensor::matrix(x.v.data(), M, R), Tensor::matrix(w.v.data(), C, R),
                               Tensor::vector(b.v.data(), C), Tensor::matrix(y_out.v.data(), M, C)});
                run_kernel(bw, {Tensor::matrix(x.v.data(), M, R), Tensor::matrix(w.v.data(), C, R),
                                Tensor::matrix(dx_out.v.data(), M, C)});
            };
            run(fwd, bwd, y, dx);
            run(fwd_chunked, bwd_chunked, y_chunked, dx_chunked);
            run(fwd_one, bwd_one, y_one, dx_one);
            // The same product over W stored [R,C].
            ref::Mat w_kn(R, C), y_kn(M, C, 0), y_kn_chunked(M, C, 0);
            for (int r = 0; r < R; r++) {
                for (int j = 0; j < C; j++) w_kn(r, j) = w(j, r);
            }
            for (auto [kernel, out] : {std::pair{&fwd_kn, &y_kn}, std::pair{&fwd_kn_chunked, &y_kn_chunked}}) {
                run_kernel(*kernel, {Tensor::matrix(x.v.data(), M, R), Tensor::matrix(w_kn.v.data(), R, C),
                                     Tensor::vector(b.v.data(), C), Tensor::matrix(out->v.data(), M, C)});
            }
            auto wrong = [&](const ref::Mat &y_out, const ref::Mat &dx_out) {
                int count = 0;
                for (int i = 0; i < M; i++) {
                    for (int j = 0; j < C; j++) {
                        double z = 0, mag = 0;
                        for (int r = 0; r < R; r++) z += double(x(i, r)) * w(j, r), mag += std::abs(double(x(i, r)) * w(j, r));
                        const double tol = 4 * (R + 2) * std::ldexp(1.0, -24) * (mag + std::abs(b(0, j)));
                        const double zb = z + b(0, j);
                        count += std::abs(dx_out(i, j) - z) > tol;
                        count += std::abs(y_out(i, j) - (zb > 0 ? zb : 0)) > tol;
                    }
                }
                return count;
            };
            CHECK(wrong(y, dx) == 0);
            CHECK(wrong(y_chunked, dx_chunked) == 0);
            CHECK(wrong(y_one, dx_one) == 0);
            CHECK(wrong(y_kn, dx) == 0);
            CHECK(wrong(y_kn_chunked, dx) == 0);
            // Without FMA (SSE4.1) the matmul's separate adds are fast math, which LLVM may
            // reassociate differently in another loop nest: there the reference decides alone.
            if (isa != Isa::sse41) {
                CHECK(y_chunked.v == y.v);
                CHECK(dx_chunked.v == dx.v);
                CHECK(y_one.v == y.v);
                CHECK(dx_one.v == dx.v);
                CHECK(y_kn.v == y.v);
                CHECK(y_kn_chunked.v == y.v);
            }
        }
    }
}

TEST_CASE("the transposed product computes backward_data right at every tail, on every ISA", "[schedule][jit]") {
    // dX = dZ·Wᵀ as (W·dZᵀ)ᵀ: dZ and the product each transposed in tiles of one vector, so
    // shapes on both sides of a vector and of a register block, in rows, columns and reduction.
    jit::Engine engine(jit_test::quiet_options(jit_test::fresh_dir("transposed_product")));
    const KernelSpec spec = parse_spec("backward_data:identity:prev_bias=0:weight=kn");
    // (M, K, N): dX is M x K, the reduction N.
    const int shapes[][3] = {{29, 37, 11}, {5, 3, 7}, {16, 16, 16}, {40, 70, 33}, {3, 100, 21}, {70, 17, 130}};
    for (Isa isa : {Isa::sse41, Isa::avx2, Isa::avx512}) {
        if (isa > host_isa()) continue;
        CpuSchedule packed{isa == Isa::avx512 ? 4 : 2, 6, 12, 16, false};
        packed.transposed_product = true;
        CpuSchedule direct = packed;
        direct.operand = OperandRead::direct;
        for (const CpuSchedule &s : {packed, direct}) {
            const KernelHandle k = engine.get_scheduled(spec, isa, s);
            for (const auto &[M, K, N] : shapes) {
                INFO(to_string(isa) << " " << to_string(s) << " " << M << "x" << K << "x" << N);
                ref::Mat dz(M, N), w(K, N), dx(M, K, -7);
                ref::fill_uniform(dz, 21);
                ref::fill_uniform(w, 22);
                run_kernel(k, {Tensor::matrix(dz.v.data(), M, N), Tensor::matrix(w.v.data(), K, N),
                               Tensor::matrix(dx.v.data(), M, K)});
                int wrong = 0;
                for (int i = 0; i < M; i++) {
                    for (int j = 0; j < K; j++) {
                        double sum = 0, mag = 0;
                        for (int n = 0; n < N; n++) sum += double(dz(i, n)) * w(j, n), mag += std::abs(double(dz(i, n)) * w(j, n));
                        wrong += !(std::abs(dx(i, j) - sum) <= 4 * (N + 2) * std::ldexp(1.0, -24) * mag);
                    }
                }
                CHECK(wrong == 0);
            }
        }
    }
}

TEST_CASE("the transposed product computes backward_weight right at every tail, on every ISA", "[schedule][jit]") {
    // dW = Xᵀ·dZ as (dZᵀ·X)ᵀ, the product's vectors along K and dW written in tiles of one
    // vector: shapes on both sides of a vector and of a register block in K, N and the batch.
    // dW and db against the double reference, and dW bit for bit against the plain product (the
    // same FMAs in the same order).
    jit::Engine engine(jit_test::quiet_options(jit_test::fresh_dir("transposed_weight_gradient")));
    const KernelSpec spec = parse_spec("backward_weight:bias=1:weight=kn");
    const int shapes[][3] = {{29, 37, 11}, {5, 3, 7}, {16, 16, 16}, {40, 70, 3}, {3, 100, 15}, {300, 130, 10}, {1, 33, 1}};
    for (Isa isa : {Isa::sse41, Isa::avx2, Isa::avx512}) {
        if (isa > host_isa()) continue;
        const CpuSchedule plain{isa == Isa::avx512 ? 4 : 2, 6, 12, 16, false};
        CpuSchedule product = plain;
        product.transposed_product = true;
        // Also with dZ copied transposed whole before the product (lhs=transposed).
        CpuSchedule product_transposed_lhs = product;
        product_transposed_lhs.transpose_lhs = true;
        const KernelHandle k_plain = engine.get_scheduled(spec, isa, plain);
        for (const CpuSchedule &schedule : {product, product_transposed_lhs}) {
            const KernelHandle k_product = engine.get_scheduled(spec, isa, schedule);
            for (const auto &[M, K, N] : shapes) {
                INFO(to_string(isa) << " " << to_string(schedule) << " " << M << "x" << K << "x" << N);
                ref::Mat x(M, K), dz(M, N), dw(K, N, -7), db(1, N, -7), dw_plain(K, N, -9), db_plain(1, N, -9);
                ref::fill_uniform(x, 31);
                ref::fill_uniform(dz, 32);
                run_kernel(k_product, {Tensor::matrix(x.v.data(), M, K), Tensor::matrix(dz.v.data(), M, N),
                                       Tensor::matrix(dw.v.data(), K, N), Tensor::vector(db.v.data(), N)});
                run_kernel(k_plain, {Tensor::matrix(x.v.data(), M, K), Tensor::matrix(dz.v.data(), M, N),
                                     Tensor::matrix(dw_plain.v.data(), K, N), Tensor::vector(db_plain.v.data(), N)});
                ref::MatD mag(K, N);
                const ref::MatD want = ref::matmul(x, dz, true, false, &mag);
                int wrong = 0;
                for (int r = 0; r < K; r++) {
                    for (int c = 0; c < N; c++) wrong += !(std::abs(dw(r, c) - want(r, c)) <= ref::reduction_bound(M, mag(r, c)));
                }
                for (int c = 0; c < N; c++) {
                    double sum = 0, size = 0;
                    for (int m = 0; m < M; m++) sum += dz(m, c), size += std::abs(double(dz(m, c)));
                    wrong += !(std::abs(db(0, c) - sum) <= ref::reduction_bound(M, size));
                }
                CHECK(wrong == 0);
                CHECK(dw.v == dw_plain.v);
                CHECK(db.v == db_plain.v);
            }
        }
    }
}

namespace {
// Runs forward relu kernel k on M x K x N inputs filled from seeds seed to seed + 2; returns its
// wrong outputs.
int wrong_relu_run(const KernelHandle &k, int M, int K, int N, unsigned seed) {
    ref::Mat x(M, K), w(K, N), b(1, N), y(M, N, -1);
    ref::fill_uniform(x, seed);
    ref::fill_uniform(w, seed + 1);
    ref::fill_uniform(b, seed + 2);
    run_kernel(k, {Tensor::matrix(x.v.data(), M, K), Tensor::matrix(w.v.data(), K, N), Tensor::vector(b.v.data(), N),
                   Tensor::matrix(y.v.data(), M, N)});
    return cases::wrong_relu_outputs(x, w, b, y);
}
}  // namespace

TEST_CASE("schedules whose shape tiers coincide compile and compute right", "[schedule][jit]") {
    // One-vector panels of 6 rows: the full tile's condition is the narrow tier's (6 rows), for
    // blocks and for chunked tasks alike.
    jit::Engine engine(jit_test::quiet_options(jit_test::fresh_dir("coinciding_tiers")));
    const KernelSpec spec = parse_spec("forward:relu:bias=1");
    const int M = 29, K = 37, N = 40;
    ref::Mat x(M, K), w(K, N), b(1, N);
    ref::fill_uniform(x, 5);
    ref::fill_uniform(w, 6);
    ref::fill_uniform(b, 7);
    for (const CpuSchedule &s : {CpuSchedule{1, 6, 6, 16, false}, CpuSchedule{1, 6, 6, 16, false, false, OperandRead::packed, true, 16}}) {
        INFO(to_string(s));
        ref::Mat y(M, N, 0);
        run_kernel(engine.get_scheduled(spec, host_isa(), s), {Tensor::matrix(x.v.data(), M, K), Tensor::matrix(w.v.data(), K, N),
                                                               Tensor::vector(b.v.data(), N), Tensor::matrix(y.v.data(), M, N)});
        CHECK(cases::wrong_relu_outputs(x, w, b, y) == 0);
    }
}

TEST_CASE("tasks sharing the rows evenly compute every row right", "[schedule][jit]") {
    // Rows outermost in tasks of at most 12 rows of 3-row blocks: 13 rows are 2 tasks of 9 (the
    // second shifted inwards over the first), 25 are 3 of 9, 37 are 4 of 12, 194 are 17 of 12.
    // Fewer rows than a task: 9 are one task, 7 and 11 two tasks of 6 (the second shifted
    // inwards), 5 two tasks of one block. The same tasks with panels outermost and the reduction
    // in chunks of 4 steps (each chunk packed per task).
    jit::Engine engine(jit_test::quiet_options(jit_test::fresh_dir("balanced_tasks")));
    const KernelSpec spec = parse_spec("forward:relu:bias=1");
    for (const CpuSchedule &s : {CpuSchedule{1, 3, 12, 16, true}, CpuSchedule{1, 3, 12, 16, false, false, OperandRead::packed, true, 4}}) {
        const KernelHandle k = engine.get_scheduled(spec, host_isa(), s);
        const int K = 7, N = 20;
        for (int M : {13, 25, 37, 194, 9, 7, 11, 5}) {
            INFO(to_string(s) << " " << M << "x" << K << "x" << N);
            CHECK(wrong_relu_run(k, M, K, N, 31) == 0);
        }
    }
}

TEST_CASE("panels outermost over many panels per thread, each panel's rows one task, compute every row right", "[schedule][jit]") {
    // One-vector panels: 200 columns are at least 4 panels per thread at 1 to 3 threads (all rows
    // in one task per panel), not at 4 (tasks of 12 rows). Rows: whole and shifted blocks, one
    // block, a task's worth and more.
    jit::Engine engine(jit_test::quiet_options(jit_test::fresh_dir("panel_tasks")));
    const KernelSpec spec = parse_spec("forward:relu:bias=1");
    const KernelHandle k = engine.get_scheduled(spec, host_isa(), CpuSchedule{1, 3, 12, 16, false});
    const int K = 9, N = 200;
    for (int threads : {1, 2, 3, 4}) {
        set_num_threads(threads);
        for (int M : {3, 4, 13, 25, 194}) {
            INFO(threads << " threads, " << M << "x" << K << "x" << N);
            CHECK(wrong_relu_run(k, M, K, N, 41) == 0);
        }
    }
    set_num_threads(0);
}

TEST_CASE("rows outermost with many tasks per thread, each task's panels on its thread, compute every row right", "[schedule][jit]") {
    // Rows outermost in tasks of 12 rows of 3-row blocks, one-vector panels over 50 columns (the
    // last shifted inwards). 194 rows are 17 tasks: panels in turn on each task's thread at 1 to
    // 4 threads; 25 rows are 3 tasks: so only at 1 thread, parallel panels from 2 threads up.
    jit::Engine engine(jit_test::quiet_options(jit_test::fresh_dir("row_tasks")));
    const KernelSpec spec = parse_spec("forward:relu:bias=1");
    const KernelHandle k = engine.get_scheduled(spec, host_isa(), CpuSchedule{1, 3, 12, 16, true});
    const int K = 9, N = 50;
    for (int threads : {1, 2, 3, 4}) {
        set_num_threads(threads);
        for (int M : {3, 13, 25, 48, 97, 194}) {
            INFO(threads << " threads, " << M << "x" << K << "x" << N);
            CHECK(wrong_relu_run(k, M, K, N, 51) == 0);
        }
    }
    set_num_threads(0);
}

TEST_CASE("backward_weight with Xᵀ staged, transposed whole, or the batch chunked per task computes dW right in whole and shifted tasks", "[schedule][jit]") {
    // Rows outermost in tasks of at most 9 rows of 3-row blocks, each task's columns of X staged
    // once for all panels: 40 output rows are 5 tasks of 9 (the last shifted inwards), 7 are
    // tasks of one block. Both weight layouts, so that X and dZ each serve as the staged side.
    // Then panels outermost with the batch in chunks of 8 packed per task (the form of Zen 5's
    // entry for few output columns): 53 and 20 rows of the batch end in a partial chunk. 40 rows
    // in 5 staged tasks run each task's panels on its thread at 1 and 2 threads, not at 3.
    jit::Engine engine(jit_test::quiet_options(jit_test::fresh_dir("staged_lhs")));
    const CpuSchedule staged{1, 3, 9, 16, true, true};
    const CpuSchedule chunked{1, 3, 9, 16, false, false, OperandRead::packed, true, 8};
    // Then the left operand transposed whole in 16 x 16 tiles (7 and 20 rows and 53 columns end
    // in partial tiles).
    CpuSchedule transposed{1, 3, 9, 16, false};
    transposed.transpose_lhs = true;
    for (const auto &[text, s] : {std::pair{"backward_weight:bias=0:weight=kn", staged}, {"backward_weight:bias=0:weight=nk", staged},
                                  {"backward_weight:bias=0:weight=kn", chunked}, {"backward_weight:bias=0:weight=nk", chunked},
                                  {"backward_weight:bias=0:weight=kn", transposed}, {"backward_weight:bias=0:weight=nk", transposed}}) {
        const KernelSpec spec = parse_spec(text);
        const bool kn = spec.weight == WeightLayout::kn;
        const KernelHandle k = engine.get_scheduled(spec, host_isa(), s);
        for (const auto &[M, K, N, threads] : {std::array{53, 40, 37, 1}, std::array{53, 40, 37, 2}, std::array{53, 40, 37, 3},
                                               std::array{53, 7, 40, 1}, std::array{20, 37, 40, 2}}) {
            set_num_threads(threads);
            INFO(text << " " << to_string(s) << " " << M << "x" << K << "x" << N << " on " << threads << " threads");
            ref::Mat x(M, K), dz(M, N), dw(kn ? K : N, kn ? N : K, -1);
            ref::fill_uniform(x, 41);
            ref::fill_uniform(dz, 42);
            run_kernel(k, {Tensor::matrix(x.v.data(), M, K), Tensor::matrix(dz.v.data(), M, N),
                           Tensor::matrix(dw.v.data(), dw.rows, dw.cols)});
            int wrong = 0;
            for (int r = 0; r < K; r++) {
                for (int c = 0; c < N; c++) {
                    double want = 0, scale = 0;
                    for (int m = 0; m < M; m++) {
                        want += double(x(m, r)) * dz(m, c);
                        scale += std::abs(double(x(m, r)) * dz(m, c));
                    }
                    wrong += std::abs((kn ? dw(r, c) : dw(c, r)) - want) > 1e-5 * (1 + scale);
                }
            }
            CHECK(wrong == 0);
        }
    }
    set_num_threads(0);
}

TEST_CASE("column sums over outputs wider than a strip, with a tail strip, on every ISA", "[schedule][jit]") {
    jit::Engine engine(jit_test::quiet_options(jit_test::fresh_dir("column_sums")));
    const KernelSpec spec = parse_spec("activation_backward:relu:bias=1:save=z");
    // 300 columns: two strips of 128 and one shifted over the second; 150: one and a shifted one.
    for (Isa isa : {Isa::sse41, Isa::avx2, Isa::avx512}) {
        if (isa > host_isa()) continue;
        const KernelHandle k = engine.get_scheduled(spec, isa, {2, 6, 48, 16});
        for (const auto &[M, N] : {std::pair{37, 300}, {5, 150}, {3, 128}}) {
            INFO(to_string(isa) << " " << M << "x" << N);
            ref::Mat dy(M, N), z(M, N), dz(M, N, 0), db(1, N, 0);
            ref::fill_uniform(dy, 21);
            ref::fill_uniform(z, 22);
            run_kernel(k, {Tensor::matrix(dy.v.data(), M, N), Tensor::matrix(z.v.data(), M, N),
                           Tensor::matrix(dz.v.data(), M, N), Tensor::vector(db.v.data(), N)});
            int wrong_dz = 0, wrong_db = 0;
            for (int j = 0; j < N; j++) {
                double sum = 0, mag = 0;
                for (int i = 0; i < M; i++) {
                    const double want = z(i, j) <= 0 ? 0.0 : double(dy(i, j));
                    wrong_dz += dz(i, j) != float(want);
                    sum += want, mag += std::abs(want);
                }
                wrong_db += std::abs(db(0, j) - sum) > 4 * (M + 2) * std::ldexp(1.0, -24) * mag;
            }
            CHECK(wrong_dz == 0);
            CHECK(wrong_db == 0);
        }
    }
}

TEST_CASE("a GPU schedule prints canonically and names what makes it invalid", "[schedule][cuda]") {
    CHECK(to_string(GpuSchedule{}) == "gpu:block=64x64:thread=4x4:k=16:pass=32x8");
    CHECK(gpu_schedule_problem(GpuSchedule{}) == "");
    CHECK(parse_gpu_schedule("gpu:block=128x64:thread=8x4:k=8:pass=64x4") == GpuSchedule{128, 64, 8, 4, 8, 64, 4});
    CHECK(parse_gpu_schedule("cuda:block=128x64:thread=8x4:k=8:pass=64x4") == GpuSchedule{128, 64, 8, 4, 8, 64, 4});
    CHECK(parse_gpu_schedule(to_string(GpuSchedule{})) == GpuSchedule{});
    CHECK_THROWS_WITH(parse_gpu_schedule("gpu:block=64x64"), Catch::Contains("expected gpu:block=CxR"));
    CHECK_THROWS_WITH(parse_gpu_schedule("opencl:block=64x64:thread=4x4:k=16:pass=32x8"), Catch::Contains("expected gpu:"));
    CHECK_THAT(gpu_schedule_problem({64, 30, 4, 4, 16, 32, 8}), Catch::Contains("not a multiple of the thread block 4x4"));
    CHECK_THAT(gpu_schedule_problem({128, 128, 16, 16, 16, 32, 8}), Catch::Contains("more than 128 accumulators"));
    CHECK_THAT(gpu_schedule_problem({8192, 64, 4, 4, 16, 32, 8}), Catch::Contains("above 4096"));
}

TEST_CASE("a GPU schedule's needs are checked against a device's limits", "[schedule][cuda]") {
    const KernelSpec fwd = parse_spec("forward:relu"), act = parse_spec("activation_backward:relu:save=z");
    // The default: 16x16 threads on a 64x64 tile, passes of 32x8, column sums of 256 along x;
    // two 16-deep f32 panels of 64 = 8 KiB.
    const GpuNeeds n = gpu_needs(GpuSchedule{}, fwd);
    CHECK(n.work_items == 256);
    CHECK(n.extent_x == 256);
    CHECK(n.extent_y == 16);
    CHECK(n.local_bytes == 16 * 128 * 4);
    CHECK(gpu_needs(GpuSchedule{}, act).local_bytes == 0);  // no matmul, nothing staged
    CHECK(gpu_needs({256, 64, 2, 2, 16, 32, 8}, act).work_items == 256);  // the matmul's blocks do not count
    CHECK(gpu_limits_problem(n, cuda_limits()) == "");
    CHECK_THAT(gpu_limits_problem(gpu_needs({256, 64, 2, 2, 16, 32, 8}, fwd), cuda_limits()),
               Catch::Contains("work-groups of 4096 work-items where the device allows 1024"));
    CHECK_THAT(gpu_limits_problem(gpu_needs({128, 128, 8, 8, 128, 32, 8}, fwd), cuda_limits()),
               Catch::Contains("131072 bytes of local memory per work-group where the device has 49152"));
    // A small device: every limit it misses is named.
    const GpuLimits small{128, 128, 64, 4096};
    const std::string problem = gpu_limits_problem(n, small);
    CHECK_THAT(problem, Catch::Contains("work-groups of 256 work-items where the device allows 128") &&
                            Catch::Contains("up to 256x16 where the device allows 128x64") &&
                            Catch::Contains("8192 bytes of local memory"));
    CHECK_THROWS_WITH(gen::compile_cuda_object(fwd, 80, {256, 64, 2, 2, 16, 32, 8}, "rf_too_big", "/nonexistent/x.o"),
                      Catch::Contains("does not fit CUDA's limits for 'forward:relu"));
}

TEST_CASE("CUDA targets are Halide 14's capabilities", "[schedule][cuda]") {
    CHECK(gen::cuda_target(80).has_feature(Halide::Target::CUDACapability80));
    CHECK(gen::cuda_target(86).has_feature(Halide::Target::CUDA));
    CHECK_FALSE(gen::cuda_target(86).has_feature(Halide::Target::AVX2));  // host code runs on any x86-64 GPU host
    CHECK_THROWS_WITH(gen::cuda_target(90), Catch::Contains("CUDA capability 90 is not one Halide 14 targets"));
    CHECK(cuda_build_capability(90) == 86);
    CHECK(cuda_build_capability(80) == 80);
    CHECK(cuda_build_capability(20) == 0);
}
