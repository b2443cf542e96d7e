#include "session.h"

#include "reluforge/schedules/search_space.h"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <optional>
#include <random>
#include <unistd.h>

namespace reluforge::tune {
using Clock = std::chrono::steady_clock;

namespace {

std::string now_utc() {
    std::time_t t = std::time(nullptr);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    return buf;
}

bool dot_products(const sched::CpuSchedule &s) { return s.operand == sched::OperandRead::dot; }

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

void progress(bool tty, int done, int total, double best_speedup, double eta_s, const std::string &what) {
    const int width = 24, filled = total ? width * done / total : width;
    const std::string bar = std::string(filled, '#') + std::string(width - filled, '.');
    const std::string line = fmt::format("[{}] {}/{} trials  best {:.2f}x over default  ETA {:.0f}s  {}", bar, done,
                                         total, best_speedup, eta_s, what);
    if (tty) {
        fmt::print(stderr, "\r{:<110.110}", line);
    } else if (done == total || done % 10 == 0) {
        fmt::print(stderr, "{}\n", line);
    }
}

}  // namespace

// What one spec at one shape is tuned against.
struct Session::Problem {
    KernelSpec spec;
    ProblemShape shape;
    std::string spec_text, bucket;
    Shape call;
    Workspace workspace;
    KernelHandle default_kernel;
    sched::CpuSchedule default_schedule;
    double default_ms = 0;
    // Outputs a correct candidate must match bit for bit, by summation form: the default
    // kernel's for its own form, and a kernel of the other form's (computed when first needed).
    std::map<bool, std::vector<std::uint8_t>> expected;  // key: dot products
    std::string best;                    // schedule text
    double best_ms = 0;
    int trials = 0;
};

Session::Session(const SessionOptions &options, sched::TuningDb &db, jit::Engine &engine, ParallelCompiler &compiler)
    : options_(options), db_(db), engine_(engine), compiler_(compiler), tty_(::isatty(2)) {}

sched::TuningRecord Session::record(const Problem &p, const std::string &schedule, double median_ms) const {
    sched::TuningRecord r;
    r.spec = p.spec_text;
    r.target = to_string(options_.isa);
    r.bucket = p.bucket;
    r.shape = p.shape.text();
    r.schedule = schedule;
    r.median_ms = median_ms;
    r.default_ms = p.default_ms;
    r.machine = machine_;
    r.reluforge_version = version;
    r.date = now_utc();
    return r;
}

void Session::save(const sched::TuningRecord &r) {
    db_.add(r);
    db_.save(options_.db_path);  // every measurement, atomically: an interrupted session resumes
}

// Schedules change the loop structure, never the order of each sum, within one summation form:
// FMA chains along the reduction, or dot products (lanes along the reduction, folded at the end).
// So a correct candidate matches, bit for bit, a kernel of its form: the default kernel, or the
// default table's schedule of the other form (each checked against the double-precision
// reference by the test suite). Computing the other form's outputs overwrites the workspace's.
const std::vector<std::uint8_t> &Session::expected(Problem &p, const sched::CpuSchedule &candidate) {
    const bool dot = dot_products(candidate);
    if (auto it = p.expected.find(dot); it != p.expected.end()) return it->second;
    // Every table ends in a packed schedule; one without dot products (AVX2's for gelu) is
    // matched against the dot schedule tests/jit/test_schedules.cpp checks on every ISA, never
    // against the candidate itself.
    sched::CpuSchedule other{3, 4, 8, 16, false, false, sched::OperandRead::dot};
    for (const auto &choice : sched::default_cpu_schedules(p.spec, options_.isa)) {
        if (dot_products(choice.schedule) == dot && choice.schedule.reduction_block == 0) other = choice.schedule;
    }
    int runs = 0;
    measure(engine_.get_scheduled(p.spec, options_.isa, other), p.workspace, 1, 1e30, &runs);
    p.expected[dot] = p.workspace.outputs();
    return p.expected[dot];
}

// This shard's candidates not measured yet on this machine, in the seed's order.
std::vector<sched::CpuSchedule> Session::candidates(const Problem &p) const {
    std::vector<sched::CpuSchedule> out;
    auto space = options_.quick ? sched::cpu_quick_space(p.spec, options_.isa, p.default_schedule)
                                : sched::cpu_search_space(p.spec, options_.isa);
    if (!options_.quick) std::shuffle(space.begin(), space.end(), std::mt19937(options_.seed));
    for (std::size_t c = 0; c < space.size(); c++) {
        if (int(c % std::size_t(options_.shards)) != options_.shard || space[c] == p.default_schedule) continue;
        if (db_.measured(p.spec_text, to_string(options_.isa), p.bucket, sched::to_string(space[c]), machine_)) continue;
        out.push_back(space[c]);
    }
    if (options_.trials > 0 && int(out.size()) > options_.trials) out.resize(std::size_t(options_.trials));
    return out;
}

void Session::search(Problem &p, const std::vector<sched::CpuSchedule> &candidates, double deadline_s) {
    const auto problem_start = Clock::now();
    const std::size_t jobs = std::size_t(compiler_.jobs());
    std::vector<std::optional<KernelHandle>> compiled;
    int runs = 0;
    for (std::size_t c = 0; c < candidates.size(); c++) {
        const double elapsed = seconds_since(start_);
        if (elapsed >= deadline_s) break;
        if (c % jobs == 0) {
            const std::size_t end = std::min(candidates.size(), c + jobs);
            compiled = compiler_.compile(p.spec, options_.isa, {candidates.begin() + std::ptrdiff_t(c),
                                                                candidates.begin() + std::ptrdiff_t(end)});
        }
        const double per_trial = p.trials ? seconds_since(problem_start) / p.trials : 1.0;
        progress(tty_, p.trials, int(candidates.size()), p.default_ms / p.best_ms,
                 std::min(deadline_s - elapsed, per_trial * double(candidates.size() - std::size_t(p.trials))),
                 p.shape.text());
        if (!compiled[c % jobs]) {  // reported by the compiler; the others still count
            p.trials++;
            continue;
        }
        // Losers are dropped after 3 runs: 1.5x the best so far.
        sched::TuningRecord r = record(p, sched::to_string(candidates[c]),
                                       measure(*compiled[c % jobs], p.workspace, options_.reps, 1.5 * p.best_ms, &runs));
        const std::vector<std::uint8_t> outputs = p.workspace.outputs();
        r.verified = outputs == expected(p, candidates[c]);
        if (!r.verified) {
            fmt::print(stderr,
                       "\nreluforge-tune: {} gives results that differ from the default table's kernel of its "
                       "summation form; recorded unverified\n",
                       r.schedule);
        }
        if (r.verified && runs == options_.reps && r.median_ms < p.best_ms) {
            p.best_ms = r.median_ms;
            p.best = r.schedule;
        }
        save(r);
        p.trials++;
    }
    progress(tty_, p.trials, p.trials, p.default_ms / p.best_ms, 0, p.shape.text());
    if (tty_) fmt::print(stderr, "\n");
}

// The winner and the default take turns, three rounds, so that both see the same machine (shared
// machines drift); returns the default's confirmed time.
double Session::confirm(Problem &p) {
    if (p.best == sched::to_string(p.default_schedule)) {
        // No candidate beat the default: that is a result too, recorded so that a build on
        // another thread count or machine can say this shape was tuned there.
        sched::TuningRecord r = record(p, p.best, p.default_ms);
        r.verified = r.confirmed = true;
        save(r);
        return p.default_ms;
    }
    const KernelHandle k = engine_.get_scheduled(p.spec, options_.isa, sched::parse_cpu_schedule(p.best));
    std::vector<double> tb, td;
    int runs = 0;
    for (int round = 0; round < 3; round++) {
        td.push_back(measure(p.default_kernel, p.workspace, options_.reps, 1e30, &runs));
        tb.push_back(measure(k, p.workspace, options_.reps, 1e30, &runs));
    }
    std::sort(tb.begin(), tb.end());
    std::sort(td.begin(), td.end());
    p.best_ms = tb[1];
    sched::TuningRecord r = record(p, p.best, p.best_ms);
    r.default_ms = td[1];
    const std::vector<std::uint8_t> outputs = p.workspace.outputs();
    r.verified = outputs == expected(p, sched::parse_cpu_schedule(p.best));
    r.confirmed = true;
    save(r);
    if (p.best_ms >= td[1]) p.best = sched::to_string(p.default_schedule) + " (the candidate did not hold up)";
    return td[1];
}

double Session::baseline(const Problem &p) {
    const std::string &b = options_.baseline;
    const std::string name = b == "adams2019" ? "Adams2019" : b == "mullapudi2016" ? "Mullapudi2016" : "Li2018";
    const KernelHandle k = engine_.get_autoscheduled(p.spec, options_.isa, name, p.shape.M, p.shape.K, p.shape.N);
    int runs = 0;
    const double ms = measure(k, p.workspace, options_.reps, 1e30, &runs);
    if (p.workspace.outputs() != p.expected.at(dot_products(p.default_schedule))) {
        fmt::print("reluforge-tune: note: {}'s results differ in the last bits (it may reorder sums)\n", name);
    }
    return ms;
}

Winner Session::tune(const KernelSpec &spec, const ProblemShape &s, double deadline_s) {
    const Shape call{s.M, s.N, spec.op == Op::activation_backward ? 0 : s.K};  // no K there
    Problem p{spec, s, to_string(spec), sched::shape_bucket(call), call, Workspace(spec, s, options_.seed),
              engine_.get(spec, options_.isa, call), sched::default_cpu_schedule(spec, options_.isa, call)};
    int runs = 0;
    p.default_ms = measure(p.default_kernel, p.workspace, options_.reps, 1e30, &runs);
    p.expected[dot_products(p.default_schedule)] = p.workspace.outputs();
    p.best = sched::to_string(p.default_schedule);
    p.best_ms = p.default_ms;
    for (const auto &r : db_.records()) {  // earlier sessions' winners count
        if (r.spec == p.spec_text && r.target == to_string(options_.isa) && r.bucket == p.bucket && r.machine == machine_ &&
            r.verified && r.shape == s.text() && r.median_ms < p.best_ms) {
            p.best_ms = r.median_ms;
            p.best = r.schedule;
        }
    }
    const auto todo = candidates(p);
    fmt::print("{} at {} (bucket {}): default {:.3f} ms, {} candidates to measure\n", p.spec_text, s.text(), p.bucket,
               p.default_ms, todo.size());
    search(p, todo, deadline_s);
    const double default_ms = confirm(p);
    Winner w{p.spec_text, s.text(), p.best, default_ms, std::min(p.best_ms, default_ms), p.trials};
    if (!options_.baseline.empty()) w.baseline_ms = baseline(p);
    return w;
}

void print_winners(const std::vector<Winner> &winners, const std::string &baseline) {
    const std::string b = baseline.empty() ? "" : fmt::format(" {:>12} {:>8}", baseline + " ms", "vs it");
    fmt::print("\n{:<52} {:<15} {:>10} {:>10} {:>8}{}  {}\n", "spec", "MxKxN", "default ms", "best ms", "speedup", b, "winner");
    for (const auto &w : winners) {
        const std::string bv = baseline.empty() ? "" : fmt::format(" {:>12.3f} {:>7.2f}x", w.baseline_ms, w.baseline_ms / w.best_ms);
        fmt::print("{:<52} {:<15} {:>10.3f} {:>10.3f} {:>7.2f}x{}  {}\n", w.spec, w.shape, w.default_ms, w.best_ms,
                   w.default_ms / w.best_ms, bv, w.schedule);
    }
}

}  // namespace reluforge::tune
