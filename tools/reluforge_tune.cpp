// reluforge-tune: searches the schedule space of kernels for given shapes on this machine and
// records every measurement in a tuning database (see schedules/tuning_db.h).
//
//   reluforge-tune --db tuning.json --spec "forward:relu" --shape 1024x1024x1024 [--budget-s 600]
//   reluforge-tune --db all.json merge shard0.json shard1.json
#include "tune/session.h"

#include "reluforge/error.h"
#include "reluforge/registry.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

using namespace reluforge;

namespace {

struct Options {
    tune::SessionOptions session;
    std::string target = "host", shard_text = "0/1";
    std::vector<std::string> spec_texts, shape_texts, merge_inputs;
    double budget_s = 600;
    int jobs = 2;
    int threads = 0;
};

CLI::App *add_options(CLI::App &app, Options &o) {
    app.require_subcommand(0, 1);
    app.add_option("--db", o.session.db_path, "tuning database (JSON; created if missing, resumed if present)")->required();
    app.add_option("-s,--spec", o.spec_texts, "kernel spec (repeatable)");
    app.add_option("--shape", o.shape_texts, "MxKxN shape of the layer (repeatable)")->delimiter(',');
    app.add_option("--target", o.target, "host, avx512, avx2 or sse41")->capture_default_str();
    app.add_option("--budget-s", o.budget_s, "time budget in seconds, over all specs and shapes")->capture_default_str();
    app.add_option("--trials", o.session.trials, "at most this many candidates per spec and shape (0: no limit)")
        ->capture_default_str();
    app.add_option("--reps", o.session.reps, "timed runs per candidate (median)")->capture_default_str();
    app.add_option("--seed", o.session.seed, "order of the candidates")->capture_default_str();
    app.add_option("--shard", o.shard_text, "i/n: measure only the i-th of n slices of the candidates (0 <= i < n)")
        ->capture_default_str();
    app.add_option("--jobs", o.jobs, "candidates compiled at once, in child processes")->capture_default_str();
    app.add_option("--threads", o.threads,
                   "threads each kernel runs on while timed: the count your program runs with (0: every core, "
                   "the runtime's default)")
        ->capture_default_str();
    app.add_flag("--quick", o.session.quick,
                 "measure only the default schedule's neighbourhood (a dozen candidates per kernel and shape; "
                 "--budget-s 60 and --reps 3 unless given): for a CPU the default table was not measured on");
    app.add_option("--baseline", o.session.baseline, "also measure Halide's autoscheduler on the same algorithm and shapes")
        ->check(CLI::IsMember({"adams2019", "mullapudi2016", "li2018"}));
    CLI::App *merge = app.add_subcommand("merge", "add the records of other databases to --db");
    merge->add_option("inputs", o.merge_inputs, "databases to merge")->required();
    return merge;
}

int merge(const std::string &out, const std::vector<std::string> &inputs) {
    sched::TuningDb db = sched::TuningDb::load(out);
    for (const auto &in : inputs) {
        if (!std::filesystem::exists(in)) throw Error(ErrorCode::bad_argument, fmt::format("merge: {} does not exist", in));
        db.merge(sched::TuningDb::load(in));
    }
    db.save(out);
    fmt::print("reluforge-tune: {} records in {}\n", db.records().size(), out);
    return 0;
}

// The target, the shard and the reps, refused before anything compiles.
void check_options(Options &o) {
    if (o.spec_texts.empty() || o.shape_texts.empty()) throw Error(ErrorCode::bad_argument, "give --spec and --shape");
    auto &s = o.session;
    char tail = 0;
    if (std::sscanf(o.shard_text.c_str(), "%d/%d%c", &s.shard, &s.shards, &tail) != 2 || s.shards < 1 || s.shard < 0 ||
        s.shard >= s.shards) {
        throw Error(ErrorCode::bad_argument, fmt::format("--shard '{}' is not i/n with 0 <= i < n", o.shard_text));
    }
    if (s.reps < 1) throw Error(ErrorCode::bad_argument, fmt::format("--reps {} must be at least 1", s.reps));
    if (o.threads < 0) throw Error(ErrorCode::bad_argument, fmt::format("--threads {} must be 0 (every core) or more", o.threads));
    s.isa = o.target == "host" ? host_isa() : parse_isa(o.target);
    if (s.isa > host_isa()) {
        throw Error(ErrorCode::bad_argument, fmt::format("--target {}: this CPU runs up to {}", o.target, to_string(host_isa())));
    }
}

int tune_all(Options &o) {
    check_options(o);
    std::vector<KernelSpec> specs;
    for (const auto &t : o.spec_texts) specs.push_back(parse_spec(t));
    for (const auto &spec : specs) {
        for (const auto &t : o.shape_texts) tune::parse_shape(t, spec);  // refused before any work
    }
    sched::TuningDb db = sched::TuningDb::load(o.session.db_path);  // a corrupt file stops here, untouched
    jit::Options engine_options;
    engine_options.use_disk_cache = false;  // candidates are compiled once; keep them out of the user's cache
    engine_options.quiet = true;
    engine_options.tuning_db.clear();
    jit::Engine engine(engine_options);
    tune::ParallelCompiler compiler(engine, std::max(1, o.jobs));
    // A schedule's best choice depends on the threads it shares the machine with: time kernels on
    // the count the program runs with (and record it).
    set_num_threads(o.threads);
    tune::Session session(o.session, db, engine, compiler);
    const sched::Machine machine = sched::this_machine(num_threads());
    fmt::print("reluforge-tune: {} ({}), target {}, {} thread(s), {} spec(s) x {} shape(s), budget {:.0f} s, shard {}/{}\n",
               machine.cpu_model, machine.isa, to_string(o.session.isa), num_threads(), specs.size(), o.shape_texts.size(),
               o.budget_s, o.session.shard, o.session.shards);

    // Each problem gets an equal share of the budget; time a problem leaves unused passes on.
    std::vector<tune::Winner> winners;
    const double per_problem_s = o.budget_s / double(specs.size() * o.shape_texts.size());
    int problem = 0;
    for (const auto &spec : specs) {
        for (const auto &t : o.shape_texts) winners.push_back(session.tune(spec, tune::parse_shape(t, spec), per_problem_s * ++problem));
    }
    db.save(o.session.db_path);
    tune::print_winners(winners, o.session.baseline);
    fmt::print("reluforge-tune: {} records in {}\n", db.records().size(), o.session.db_path);
    return 0;
}

}  // namespace

int main(int argc, char **argv) {
    CLI::App app{"reluforge-tune: measure schedules of kernels on this machine into a tuning database"};
    Options o;
    CLI::App *merge_command = add_options(app, o);
    CLI11_PARSE(app, argc, argv);
    if (o.session.quick) {
        if (app.get_option("--budget-s")->count() == 0) o.budget_s = 60;
        if (app.get_option("--reps")->count() == 0) o.session.reps = 3;
    }
    try {
        return merge_command->parsed() ? merge(o.session.db_path, o.merge_inputs) : tune_all(o);
    } catch (const Error &e) {
        fmt::print(stderr, "reluforge-tune: error: {}\n", e.what());
        return 2;
    } catch (const std::exception &e) {
        fmt::print(stderr, "reluforge-tune: error: {}\n", e.what());
        return 2;
    }
}
