#include "targets.h"

#include "reluforge/reluforge.h"
#include "reluforge/schedules/cpu_schedule.h"
#include "reluforge/schedules/gpu_schedule.h"
#include "reluforge/schedules/search_space.h"
#include "reluforge/schedules/tuning_db.h"
#include "support/cases.h"

#include <fmt/format.h>

namespace fuzz {
using namespace reluforge;

namespace {

void require(bool ok, const std::string &what) {
    if (!ok) throw PropertyViolated(what);
}

// Valid specs round-trip through their canonical text and have a signature.
bool spec(const std::string &input) {
    KernelSpec s;
    try {
        s = parse_spec(input);
    } catch (const Error &) {
        return false;
    }
    const std::string text = to_string(s);
    require(to_string(parse_spec(text)) == text, "canonical text '" + text + "' does not parse to itself");
    require(!kernel_signature(s).empty(), "no signature for '" + text + "'");
    return true;
}

std::vector<std::string> spec_seeds() {
    std::vector<std::string> out;
    for (const auto &s : cases::kernel_specs()) out.push_back(to_string(s));
    return out;
}

// Valid rules have an idempotent canonical text that bounds shapes the same way.
bool shape_rule(const std::string &input) {
    ShapeRule r;
    try {
        r = ShapeRule::parse(input);
    } catch (const Error &) {
        return false;
    }
    const ShapeRule again = ShapeRule::parse(r.text());
    require(again.text() == r.text(), "canonical text '" + r.text() + "' is not a fixed point");
    for (std::int64_t v : {std::int64_t(0), std::int64_t(1), std::int64_t(63), std::int64_t(64), std::int64_t(1) << 40}) {
        const Shape shape{v, v + 1, v / 2};
        for (CpuKind cpu : kCpuKinds) {
            require(again.holds(shape, cpu) == r.holds(shape, cpu), "canonical text '" + r.text() + "' bounds shapes differently");
        }
    }
    return true;
}

std::vector<std::string> shape_rule_seeds() {
    return {"", "k<=64", "m>=1024,n<=64", "k<=128,k>=8,m>=2,n<=64", "m<=256", "n>=1,n<=1", "k<=64,cpu=zen5"};
}

// Valid schedules round-trip; their validity check answers for any values, on every register count.
// A layer shape that parses has extents from 1 to 2^31-1 and reads back from its MxKxN text.
bool layer_shape(const std::string &input) {
    Shape s;
    try {
        s = parse_layer_shape(input);
    } catch (const Error &) {
        return false;
    }
    constexpr std::int64_t limit = std::int64_t(1) << 31;
    require(s.m >= 1 && s.n >= 1 && s.k >= 1 && s.m < limit && s.n < limit && s.k < limit,
            fmt::format("extents {}, {}, {} out of range", s.m, s.k, s.n));
    const Shape again = parse_layer_shape(fmt::format("{}x{}x{}", s.m, s.k, s.n));
    require(again.m == s.m && again.n == s.n && again.k == s.k, "the MxKxN text reads back otherwise");
    return true;
}

std::vector<std::string> layer_shape_seeds() { return {"256x784x1024", "1x1x1", "2147483647x1x1", "64x1x4096"}; }

bool schedule(const std::string &input) {
    if (input.rfind("gpu:", 0) == 0 || input.rfind("cuda:", 0) == 0) {
        sched::GpuSchedule c;
        try {
            c = sched::parse_gpu_schedule(input);
        } catch (const Error &) {
            return false;
        }
        require(sched::parse_gpu_schedule(sched::to_string(c)) == c, "'" + sched::to_string(c) + "' does not round-trip");
        sched::gpu_schedule_problem(c);
        // A valid schedule's needs are positive and checked against any limits without overflow.
        const GpuNeeds n = sched::gpu_needs(c, parse_spec("forward:relu"));
        require(n.work_items > 0 && n.extent_x > 0 && n.extent_y > 0 && n.local_bytes >= 0, "'" + input + "' needs nothing");
        gpu_limits_problem(n, cuda_limits());
        return true;
    }
    sched::CpuSchedule c;
    try {
        c = sched::parse_cpu_schedule(input);
    } catch (const Error &) {
        return false;
    }
    require(sched::parse_cpu_schedule(sched::to_string(c)) == c, "'" + sched::to_string(c) + "' does not round-trip");
    for (int registers : {16, 32}) sched::cpu_schedule_problem(c, registers);
    return true;
}

std::vector<std::string> schedule_seeds() {
    std::vector<std::string> out;
    const auto specs = cases::kernel_specs();
    for (std::size_t k = 0; k < specs.size(); k += 7) {
        for (Isa isa : {Isa::avx512, Isa::avx2}) {
            const auto space = sched::cpu_search_space(specs[k], isa);
            for (std::size_t s = 0; s < space.size(); s += 13) out.push_back(sched::to_string(space[s]));
        }
        out.push_back(sched::to_string(sched::default_gpu_schedule(specs[k])));
    }
    return out;
}

// A database that loads is wholly valid: asking it for variants never fails, whatever the records.
bool tuning_db(const std::string &input) {
    sched::TuningDb db;
    try {
        db = sched::TuningDb::parse(input, "fuzz input");
    } catch (const Error &) {
        return false;
    }
    for (const auto &r : db.records()) {
        try {
            db.tuned(parse_spec(r.spec), parse_isa(r.target), r.machine);
        } catch (const std::exception &e) {
            throw PropertyViolated(fmt::format("a loaded record fails later: {}", e.what()));
        }
    }
    return true;
}

std::vector<std::string> tuning_db_seeds() {
    const std::string record = R"({"spec": "forward:relu:bias=1:weight=kn:save=none:counts=0:dtype=f32", "target": "avx2",
 "bucket": "k<=127,k>=64,m<=127,m>=64,n<=127,n>=64", "shape": "96x64x80",
 "schedule": "cpu:block=4x6:task_rows=48:pass_rows=16:order=rows:lhs=inline:operand=packed:acc=block",
 "median_ms": 0.5, "default_ms": 1.0, "verified": true, "confirmed": true,
 "machine": {"cpu_model": "Some CPU", "isa": "avx2"}, "reluforge_version": "0.1.0", "date": "2026-12-02T00:00:00Z"})";
    return {R"({"format": "reluforge-tuning-db", "version": 1, "records": []})",
            R"({"format": "reluforge-tuning-db", "version": 1, "records": [)" + record + "]}",
            R"({"format": "reluforge-tuning-db", "version": 1, "records": [)" + record + "," + record + "]}"};
}

}  // namespace

const std::vector<Target> &targets() {
    static const std::vector<Target> all = {
        {"spec", spec, spec_seeds,
         {"forward", "activation_backward", "backward_data", "backward_weight", "relu", "gelu", "prelu", "elu",
          "softplus", "leaky_relu", "(slope=", "(alpha=", "(beta=", "threshold=", "approximate=tanh", ":bias=1",
          ":weight=nk", ":weight=packed", ":save=mask", ":save=z", ":save=y", ":counts=1", ":dtype=f16", ":prev_bias=1", "(", ")", ":"}},
        {"shape_rule", shape_rule, shape_rule_seeds, {"m", "n", "k", "<=", ">=", ",", "m<=", "k>="}},
        {"layer_shape", layer_shape, layer_shape_seeds, {"x", "0", "1", "2147483648", "-", " "}},
        {"schedule", schedule, schedule_seeds,
         {"cpu:", "gpu:", "cuda:", "block=", "task_rows=", "pass_rows=", "order=rows", "order=panels", "lhs=staged",
          "operand=dot", "operand=transposed", "acc=block", "x", ":", "46341"}},
        {"tuning_db", tuning_db, tuning_db_seeds,
         {"\"records\"", "\"version\"", "\"format\"", "null", "true", "[]", "{}", "\"schedule\"", "\"bucket\"",
          "\"spec\"", "1e400", "\"\\u0000\"", ","}},
    };
    return all;
}

}  // namespace fuzz
