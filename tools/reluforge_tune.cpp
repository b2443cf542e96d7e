// reluforge-tune: searches the schedule space of kernels for given shapes on this machine and
// records every measurement in a tuning database (see schedules/tuning_db.h).
//
//   reluforge-tune --db tuning.json --spec "forward:relu" --shape 1024x1024x1024 [--budget-s 600]
//   reluforge-tune --db all.json merge shard0.json shard1.json
#include "reluforge/error.h"
#include "reluforge/jit/engine.h"
#include "reluforge/reluforge.h"
#include "reluforge/schedules/search_space.h"
#include "reluforge/schedules/tuning_db.h"

#include <CLI/CLI.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <filesystem>
#include <ctime>
#include <random>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

using namespace reluforge;
using Clock = std::chrono::steady_clock;

namespace {

struct ProblemShape {
    std::int64_t M, K, N;
};

ProblemShape parse_shape(const std::string &text) {
    ProblemShape s{};
    if (std::sscanf(text.c_str(), "%ldx%ldx%ld", &s.M, &s.K, &s.N) != 3 || s.M < 1 || s.K < 1 || s.N < 1) {
        throw Error(ErrorCode::bad_argument, fmt::format("shape '{}' is not MxKxN with positive extents", text));
    }
    return s;
}

// Tensors for one call of spec at a shape: random inputs, zeroed outputs.
class Workspace {
public:
    Workspace(const KernelSpec &spec, ProblemShape s, unsigned seed) {
        std::mt19937 gen(seed);
        std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
        for (const ArgSlot &slot : kernel_signature(spec)) {
            const std::int64_t rows = slot.rank == 2 ? extent_value(slot.rows, s.M, s.N, s.K) : 1;
            // A mask tensor is made from its extent in elements.
            const std::int64_t cols = slot.cols == Extent::mask_N ? s.N
                                    : slot.cols == Extent::mask_K ? s.K
                                                                  : extent_value(slot.cols, s.M, s.N, s.K);
            Buffer &b = buffers_.emplace_back();
            b.output = slot.output;
            if (slot.is_mask) {
                const std::int64_t row_bytes = mask_row_bytes(cols);
                b.bytes.resize(std::size_t(rows * row_bytes));
                for (auto &v : b.bytes) v = std::uint8_t(gen());
                tensors_.push_back(Tensor::mask(b.bytes.data(), rows, cols));
            } else if (slot.dtype == DType::i32) {
                b.bytes.resize(std::size_t(cols) * 4);
                tensors_.push_back(Tensor::vector(reinterpret_cast<std::int32_t *>(b.bytes.data()), cols));
            } else {
                b.floats.resize(std::size_t(rows * cols));
                if (!slot.output) for (auto &v : b.floats) v = uniform(gen);
                tensors_.push_back(slot.rank == 2 ? Tensor::matrix(b.floats.data(), rows, cols)
                                                  : Tensor::vector(b.floats.data(), cols));
            }
        }
    }
    const std::vector<Tensor> &tensors() const { return tensors_; }
    // Every output, byte for byte.
    std::vector<std::uint8_t> outputs() const {
        std::vector<std::uint8_t> out;
        for (const auto &b : buffers_) {
            if (!b.output) continue;
            const auto *p = b.floats.empty() ? b.bytes.data() : reinterpret_cast<const std::uint8_t *>(b.floats.data());
            const std::size_t n = b.floats.empty() ? b.bytes.size() : b.floats.size() * 4;
            out.insert(out.end(), p, p + n);
        }
        return out;
    }

private:
    struct Buffer {
        bool output = false;
        std::vector<float> floats;
        std::vector<std::uint8_t> bytes;
    };
    std::deque<Buffer> buffers_;  // stable addresses
    std::vector<Tensor> tensors_;
};

// Median time of a kernel in ms. Stops after 3 runs when even the fastest is `give_up` ms or
// slower (an obvious loser).
double measure(const KernelHandle &k, const Workspace &w, int reps, double give_up, int *runs) {
    run_kernel(k, w.tensors());  // warm-up
    std::vector<double> times;
    for (int r = 0; r < reps; r++) {
        const auto t0 = Clock::now();
        run_kernel(k, w.tensors());
        times.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        if (r == 2 && *std::min_element(times.begin(), times.end()) >= give_up) break;
    }
    *runs = int(times.size());
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

std::string now_utc() {
    std::time_t t = std::time(nullptr);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    return buf;
}

void progress(bool tty, int done, int total, double best_speedup, double eta_s, const std::string &what) {
    const int width = 24, filled = total ? width * done / total : width;
    const std::string bar = std::string(filled, '#') + std::string(width - filled, '.');
    const std::string line = fmt::format("[{}] {}/{} trials  best {:.2f}x over default  ETA {:.0f}s  {}", bar,
                                         done, total, best_speedup, eta_s, what);
    if (tty) {
        fmt::print(stderr, "\r{:<110.110}", line);
    } else if (done == total || done % 10 == 0) {
        fmt::print(stderr, "{}\n", line);
    }
}

struct Winner {
    std::string spec, shape, schedule;
    double default_ms, best_ms;
    int trials;
    double baseline_ms = 0;  // Halide's autoscheduler, when asked for
};

// Compiles candidates in child processes (reluforge-gen --object), `jobs` at a time, while
// nothing is being measured; Halide compiles one pipeline per process at a time.
class ParallelCompiler {
public:
    ParallelCompiler(jit::Engine &engine, int jobs) : engine_(engine), jobs_(jobs) {
        char self[4096] = {};
        const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
        const std::filesystem::path gen = std::filesystem::path(std::string(self, n > 0 ? size_t(n) : 0)).parent_path() / "reluforge-gen";
        if (n > 0 && std::filesystem::exists(gen)) gen_ = gen.string();
        dir_ = std::filesystem::temp_directory_path() / fmt::format("reluforge-tune-{}", ::getpid());
        std::filesystem::create_directories(dir_);
    }
    ~ParallelCompiler() {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    bool parallel() const { return !gen_.empty() && jobs_ > 1; }
    int jobs() const { return parallel() ? jobs_ : 1; }

    std::vector<KernelHandle> compile(const KernelSpec &spec, Isa isa, const std::vector<sched::CpuSchedule> &batch) {
        std::vector<KernelHandle> out;
        if (!parallel()) {
            for (const auto &s : batch) out.push_back(engine_.get_scheduled(spec, isa, s));
            return out;
        }
        struct Child {
            pid_t pid;
            std::string object, symbol;
        };
        std::vector<Child> children;
        for (const auto &s : batch) {
            Child c{0, (dir_ / fmt::format("{}.o", counter_)).string(), fmt::format("rf_tune_{}_{}", ::getpid(), counter_)};
            counter_++;
            const std::vector<std::string> args{gen_, "--object", c.object, "--symbol", c.symbol, "--schedule",
                                                sched::to_string(s), "--spec", to_string(spec), "--target", to_string(isa)};
            std::vector<char *> argv;
            for (const auto &a : args) argv.push_back(const_cast<char *>(a.c_str()));
            argv.push_back(nullptr);
            if (::posix_spawn(&c.pid, gen_.c_str(), nullptr, nullptr, argv.data(), environ) != 0) {
                throw Error(ErrorCode::kernel_failed, "cannot start " + gen_);
            }
            children.push_back(c);
        }
        for (std::size_t k = 0; k < children.size(); k++) {
            int status = 0;
            ::waitpid(children[k].pid, &status, 0);
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                throw Error(ErrorCode::kernel_failed, fmt::format("reluforge-gen failed to compile {}", sched::to_string(batch[k])));
            }
            out.push_back(engine_.link_object(spec, isa, batch[k], children[k].object, children[k].symbol));
        }
        return out;
    }

private:
    jit::Engine &engine_;
    int jobs_;
    std::string gen_;
    std::filesystem::path dir_;
    int counter_ = 0;
};

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

}  // namespace

int main(int argc, char **argv) {
    CLI::App app{"reluforge-tune: measure schedules of kernels on this machine into a tuning database"};
    app.require_subcommand(0, 1);
    std::string db_path, target = "host", shard_text = "0/1";
    std::vector<std::string> spec_texts, shape_texts, merge_inputs;
    double budget_s = 600;
    int trials = 0, reps = 7;
    unsigned seed = 1;
    app.add_option("--db", db_path, "tuning database (JSON; created if missing, resumed if present)")->required();
    app.add_option("-s,--spec", spec_texts, "kernel spec (repeatable)");
    app.add_option("--shape", shape_texts, "MxKxN shape of the layer (repeatable)")->delimiter(',');
    app.add_option("--target", target, "host, avx512, avx2 or sse41")->capture_default_str();
    app.add_option("--budget-s", budget_s, "time budget in seconds, over all specs and shapes")->capture_default_str();
    app.add_option("--trials", trials, "at most this many candidates per spec and shape (0: no limit)")->capture_default_str();
    app.add_option("--reps", reps, "timed runs per candidate (median)")->capture_default_str();
    app.add_option("--seed", seed, "order of the candidates")->capture_default_str();
    app.add_option("--shard", shard_text, "i/n: measure only the i-th of n slices of the candidates (0 <= i < n)")
        ->capture_default_str();
    int jobs = 2;
    app.add_option("--jobs", jobs, "candidates compiled at once, in child processes")->capture_default_str();
    std::string baseline;
    app.add_option("--baseline", baseline, "also measure Halide's autoscheduler on the same algorithm and shapes")
        ->check(CLI::IsMember({"adams2019", "mullapudi2016", "li2018"}));
    CLI::App *merge_cmd = app.add_subcommand("merge", "add the records of other databases to --db");
    merge_cmd->add_option("inputs", merge_inputs, "databases to merge")->required();
    CLI11_PARSE(app, argc, argv);

    try {
        if (merge_cmd->parsed()) return merge(db_path, merge_inputs);
        if (spec_texts.empty() || shape_texts.empty()) throw Error(ErrorCode::bad_argument, "give --spec and --shape");
        int shard = 0, shards = 1;
        if (std::sscanf(shard_text.c_str(), "%d/%d", &shard, &shards) != 2 || shards < 1 || shard < 0 || shard >= shards) {
            throw Error(ErrorCode::bad_argument, fmt::format("--shard '{}' is not i/n with 0 <= i < n", shard_text));
        }
        const Isa isa = target == "host" ? host_isa() : parse_isa(target);
        if (isa > host_isa()) {
            throw Error(ErrorCode::bad_argument, fmt::format("--target {}: this CPU runs up to {}", target, to_string(host_isa())));
        }
        std::vector<KernelSpec> specs;
        for (const auto &t : spec_texts) specs.push_back(parse_spec(t));
        std::vector<ProblemShape> shapes;
        for (const auto &t : shape_texts) shapes.push_back(parse_shape(t));

        sched::TuningDb db = sched::TuningDb::load(db_path);  // a corrupt file stops here, untouched
        const sched::Machine machine = sched::this_machine();
        jit::Options options;
        options.use_disk_cache = false;  // candidates are compiled once; keep them out of the user's cache
        options.quiet = true;
        options.tuning_db.clear();
        jit::Engine engine(options);
        const bool tty = ::isatty(2);
        ParallelCompiler compiler(engine, std::max(1, jobs));
        fmt::print("reluforge-tune: {} ({}), target {}, {} spec(s) x {} shape(s), budget {:.0f} s, shard {}/{}\n",
                   machine.cpu_model, machine.isa, to_string(isa), specs.size(), shapes.size(), budget_s, shard, shards);

        std::vector<Winner> winners;
        const auto start = Clock::now();
        const double per_problem_s = budget_s / double(specs.size() * shapes.size());
        int problem_index = 0;
        for (const auto &spec : specs) {
            for (const auto &s : shapes) {
                const auto problem_start = Clock::now();
                const double deadline_s = per_problem_s * ++problem_index;
                const std::string spec_text = to_string(spec), shape_text = fmt::format("{}x{}x{}", s.M, s.K, s.N);
                const Shape call{s.M, s.N, spec.op == Op::activation_backward ? 0 : s.K};  // no K there
                const std::string bucket = sched::shape_bucket(call);
                Workspace w(spec, s, seed);

                // The default table's kernel: the time to beat and the results to match.
                const KernelHandle def = engine.get(spec, isa, call);
                int runs = 0;
                const double default_ms = measure(def, w, reps, 1e30, &runs);
                const std::vector<std::uint8_t> expected = w.outputs();
                const sched::CpuSchedule default_schedule = sched::default_cpu_schedule(spec, isa, call);

                std::vector<sched::CpuSchedule> candidates;
                auto space = sched::cpu_search_space(spec, isa);
                std::shuffle(space.begin(), space.end(), std::mt19937(seed));
                for (std::size_t c = 0; c < space.size(); c++) {
                    if (int(c % shards) != shard || space[c] == default_schedule) continue;
                    if (db.measured(spec_text, to_string(isa), bucket, sched::to_string(space[c]), machine)) continue;  // resumed
                    candidates.push_back(space[c]);
                }
                if (trials > 0 && int(candidates.size()) > trials) candidates.resize(std::size_t(trials));
                fmt::print("{} at {} (bucket {}): default {:.3f} ms, {} candidates to measure\n", spec_text, shape_text,
                           bucket, default_ms, candidates.size());

                double best_ms = default_ms;
                std::string best = sched::to_string(default_schedule);
                for (const auto &r : db.records()) {  // earlier sessions' winners count
                    if (r.spec == spec_text && r.target == to_string(isa) && r.bucket == bucket && r.machine == machine &&
                        r.verified && r.shape == shape_text && r.median_ms < best_ms) {
                        best_ms = r.median_ms;
                        best = r.schedule;
                    }
                }
                int done = 0;
                std::vector<KernelHandle> compiled;
                for (std::size_t c = 0; c < candidates.size(); c++) {
                    const auto &candidate = candidates[c];
                    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
                    if (elapsed >= deadline_s) break;
                    if (c % std::size_t(compiler.jobs()) == 0) {
                        const std::size_t end = std::min(candidates.size(), c + std::size_t(compiler.jobs()));
                        compiled = compiler.compile(spec, isa, {candidates.begin() + std::ptrdiff_t(c), candidates.begin() + std::ptrdiff_t(end)});
                    }
                    const double per_trial = done ? std::chrono::duration<double>(Clock::now() - problem_start).count() / done : 1.0;
                    progress(tty, done, int(candidates.size()), default_ms / best_ms,
                             std::min(deadline_s - elapsed, per_trial * double(candidates.size() - done)), shape_text);
                    sched::TuningRecord record;
                    record.spec = spec_text;
                    record.target = to_string(isa);
                    record.bucket = bucket;
                    record.shape = shape_text;
                    record.schedule = sched::to_string(candidate);
                    record.default_ms = default_ms;
                    record.machine = machine;
                    record.reluforge_version = version;
                    record.date = now_utc();
                    const KernelHandle &k = compiled[c % std::size_t(compiler.jobs())];
                    // Losers are dropped after 3 runs: 1.5x the best so far.
                    record.median_ms = measure(k, w, reps, 1.5 * best_ms, &runs);
                    // Schedules change the loop structure, never the order of each sum: a correct
                    // kernel matches the default kernel (checked against the double-precision
                    // reference by the test suite) bit for bit.
                    record.verified = w.outputs() == expected;
                    if (!record.verified) {
                        fmt::print(stderr, "\nreluforge-tune: {} gives results that differ from the default schedule; recorded unverified\n",
                                   record.schedule);
                    }
                    if (record.verified && runs == reps && record.median_ms < best_ms) {
                        best_ms = record.median_ms;
                        best = record.schedule;
                    }
                    db.add(record);
                    db.save(db_path);  // every measurement, atomically: an interrupted session resumes
                    done++;
                }
                progress(tty, done, done, default_ms / best_ms, 0, shape_text);
                if (tty) fmt::print(stderr, "\n");
                // Confirm the winner head to head: it and the default schedule take turns, so
                // that both see the same machine (shared machines drift).
                double confirmed_default = default_ms;
                if (best != sched::to_string(default_schedule)) {
                    const KernelHandle k = engine.get_scheduled(spec, isa, sched::parse_cpu_schedule(best));
                    std::vector<double> tb, td;
                    for (int round = 0; round < 3; round++) {
                        td.push_back(measure(def, w, reps, 1e30, &runs));
                        tb.push_back(measure(k, w, reps, 1e30, &runs));
                    }
                    std::sort(tb.begin(), tb.end());
                    std::sort(td.begin(), td.end());
                    best_ms = tb[1];
                    confirmed_default = td[1];
                    sched::TuningRecord record;
                    record.spec = spec_text;
                    record.target = to_string(isa);
                    record.bucket = bucket;
                    record.shape = shape_text;
                    record.schedule = best;
                    record.median_ms = best_ms;
                    record.default_ms = confirmed_default;
                    record.verified = w.outputs() == expected;
                    record.confirmed = true;
                    record.machine = machine;
                    record.reluforge_version = version;
                    record.date = now_utc();
                    db.add(record);
                    db.save(db_path);
                    if (best_ms >= confirmed_default) best = sched::to_string(default_schedule) + " (the candidate did not hold up)";
                }
                Winner winner{spec_text, shape_text, best, confirmed_default, std::min(best_ms, confirmed_default), done};
                if (!baseline.empty()) {
                    const std::string name = baseline == "adams2019" ? "Adams2019"
                                             : baseline == "mullapudi2016" ? "Mullapudi2016" : "Li2018";
                    const KernelHandle b = engine.get_autoscheduled(spec, isa, name, s.M, s.K, s.N);
                    winner.baseline_ms = measure(b, w, reps, 1e30, &runs);
                    if (w.outputs() != expected) fmt::print("reluforge-tune: note: {}'s results differ in the last bits (it may reorder sums)\n", name);
                }
                winners.push_back(winner);
            }
        }
        db.save(db_path);
        const std::string b = baseline.empty() ? "" : fmt::format(" {:>12} {:>8}", baseline + " ms", "vs it");
        fmt::print("\n{:<52} {:<15} {:>10} {:>10} {:>8}{}  {}\n", "spec", "MxKxN", "default ms", "best ms", "speedup", b, "winner");
        for (const auto &w : winners) {
            const std::string bv = baseline.empty() ? "" : fmt::format(" {:>12.3f} {:>7.2f}x", w.baseline_ms, w.baseline_ms / w.best_ms);
            fmt::print("{:<52} {:<15} {:>10.3f} {:>10.3f} {:>7.2f}x{}  {}\n", w.spec, w.shape, w.default_ms, w.best_ms,
                       w.default_ms / w.best_ms, bv, w.schedule);
        }
        fmt::print("reluforge-tune: {} records in {}\n", db.records().size(), db_path);
        return 0;
    } catch (const Error &e) {
        fmt::print(stderr, "reluforge-tune: error: {}\n", e.what());
        return 2;
    }
}
