// One tuning session: for each spec and shape, the default schedule's time and results, the
// candidates not yet measured (this shard's), each measured and verified, the winner confirmed
// head to head, and optionally Halide's autoscheduler beside it. Every measurement goes into the
// database at once, so an interrupted session resumes.
#pragma once

#include "parallel_compiler.h"
#include "workspace.h"

#include "reluforge/schedules/tuning_db.h"

#include <chrono>
#include <string>
#include <vector>

namespace reluforge::tune {

struct SessionOptions {
    Isa isa = Isa::sse41;
    int trials = 0;  // at most this many candidates per problem (0: all)
    int reps = 7;
    unsigned seed = 1;
    int shard = 0, shards = 1;
    std::string baseline;  // "", "adams2019", "mullapudi2016" or "li2018"
    bool quick = false;    // the default schedule's neighbourhood only (sched::cpu_quick_space)
    std::string db_path;
};

struct Winner {
    std::string spec, shape, schedule;
    double default_ms, best_ms;
    int trials;
    double baseline_ms = 0;  // Halide's autoscheduler, when asked for
};

class Session {
public:
    Session(const SessionOptions &options, sched::TuningDb &db, jit::Engine &engine, ParallelCompiler &compiler);
    // Tunes spec at s until the session's clock reaches deadline_s.
    Winner tune(const KernelSpec &spec, const ProblemShape &s, double deadline_s);

private:
    struct Problem;
    std::vector<sched::CpuSchedule> candidates(const Problem &p) const;
    void search(Problem &p, const std::vector<sched::CpuSchedule> &candidates, double deadline_s);
    double confirm(Problem &p);
    const std::vector<std::uint8_t> &expected(Problem &p, const sched::CpuSchedule &candidate);
    double baseline(const Problem &p);
    sched::TuningRecord record(const Problem &p, const std::string &schedule, double median_ms) const;
    void save(const sched::TuningRecord &r);

    SessionOptions options_;
    sched::TuningDb &db_;
    jit::Engine &engine_;
    ParallelCompiler &compiler_;
    // Constructed after the thread count is set (tune_all): the records say what it was.
    sched::Machine machine_ = sched::this_machine(num_threads());
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
    bool tty_;
};

// The table of winners, beside the baseline when there is one.
void print_winners(const std::vector<Winner> &winners, const std::string &baseline);

}  // namespace reluforge::tune
