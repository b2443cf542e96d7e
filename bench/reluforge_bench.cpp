// reluforge-bench: reluforge's fused kernels against oneDNN (matmul + bias + eltwise post-op,
// plain and with prepacked weights) and OpenBLAS (sgemm + a separate pass), forward and
// backward, in one process and alternating, with the machine's measured peak.
#include "mlp_step.h"
#include "peak.h"
#include "problem.h"

#include <reluforge/jit/engine.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <unistd.h>

#ifdef RELUFORGE_BENCH_OPENMP
#include <omp.h>
#endif
#ifdef RELUFORGE_BENCH_OPENBLAS
extern "C" void openblas_set_num_threads(int);
#endif

using namespace bench;

namespace {

std::vector<Shape> parse_shapes(const std::vector<std::string> &texts) {
    std::vector<Shape> out;
    for (const auto &t : texts) {
        Shape s{};
        if (std::sscanf(t.c_str(), "%dx%dx%d", &s.M, &s.K, &s.N) != 3 || s.M < 1 || s.K < 1 || s.N < 1) {
            throw CLI::ValidationError("--shapes", "'" + t + "' is not MxKxN");
        }
        out.push_back(s);
    }
    return out;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

// Largest |a - b| relative to the largest |b|: a cheap check that the implementations agree.
double max_rel_diff(const std::vector<float> &a, const std::vector<float> &b) {
    double worst = 0, scale = 1e-30;
    for (size_t k = 0; k < a.size(); k++) {
        worst = std::max(worst, double(std::abs(a[k] - b[k])));
        scale = std::max(scale, double(std::abs(b[k])));
    }
    return worst / scale;
}

struct Row {
    std::string shape, act, pass, impl;
    double ms, gflops, peak_pct, ours_speedup, peak;
};

// The FMA peak beside each case: one round of the FMA loop after each of the case's first
// `rounds` reps, and the best of them. A case's %peak is against that, the speed the host had
// while the case ran, rather than against the peak measured at the start (on a shared host
// the two differed by up to 15%: %peak read over 100 where the start caught a slow minute).
class PeakBesideReps {
public:
    PeakBesideReps(bool wide, int threads, int rounds) : wide_(wide), threads_(threads), rounds_(rounds) {}
    void start_case() { rounds_done_ = 0, best_ = 0; }
    void after_rep(int r) {
        if (r < 0 || rounds_done_ >= rounds_) return;
        best_ = std::max(best_, measure_peak_round(wide_, threads_));
        rounds_done_++;
    }
    // The case's peak (`fallback` where no rep ran); the run's range includes it.
    double finish_case(double fallback) {
        const double peak = rounds_done_ ? best_ : fallback;
        lowest_ = lowest_ ? std::min(lowest_, peak) : peak;
        highest_ = std::max(highest_, peak);
        return peak;
    }
    std::string range() const { return fmt::format("{:.1f}-{:.1f} GFLOP/s", lowest_, highest_); }

private:
    bool wide_;
    int threads_, rounds_, rounds_done_ = 0;
    double best_ = 0, lowest_ = 0, highest_ = 0;
};

// "256:784-1024-1024-10": batch, then the widths from input to output.
MlpProblem parse_mlp(const std::string &text, const reluforge::Activation &act) {
    const auto colon = text.find(':');
    std::vector<int> widths;
    int batch = 0;
    try {
        batch = std::stoi(text.substr(0, colon));
        for (size_t at = colon + 1; colon != std::string::npos && at <= text.size();) {
            const size_t dash = std::min(text.find('-', at), text.size());
            widths.push_back(std::stoi(text.substr(at, dash - at)));
            at = dash + 1;
        }
    } catch (const std::exception &) {
        widths.clear();
    }
    if (batch < 1 || widths.size() < 3 || *std::min_element(widths.begin(), widths.end()) < 1) {
        throw CLI::ValidationError("--mlp", "'" + text + "' is not batch:in-hidden-...-out (at least one hidden layer)");
    }
    return MlpProblem(batch, widths, act);
}

// The k-th implementation to run in rep r (from -1, the warm-up): each rep starts at the next
// one. One that runs right after another that read the same inputs finds them in cache, and a
// fixed order gave that head start to the same implementation every rep (oneDNN, after
// reluforge). Zen 5, 1 thread, backward against oneDNN, fixed order -> in turn: relu
// 16384x32x128 0.98 -> 1.06x, 8192x64x256 1.06 -> 1.15x, 256x4096x1024 0.93 -> 1.01x, gelu
// 8192x64x256 1.18 -> 1.36x (4096x1024x64 even).
std::size_t in_turn(std::size_t k, int rep, std::size_t count) { return (k + std::size_t(rep + 1)) % count; }

// Timed reps of a case whose warm-up call of reluforge took `warm_ms`: at least `reps`, and more
// where that many calls span less than `min_ms`, up to 1000. Short cases drift within a run (a
// shared host's neighbours, reluforge's first calls after the warm-up), and a median of 11 took
// the drift with it. Zen 5, 1 thread, backward relu against oneDNN, three runs each: 11 reps
// 8192x64x256 1.04-1.12x, 16384x32x128 1.13-1.21x; 101 reps 1.15-1.19x, 1.16-1.24x.
int reps_for(int reps, double min_ms, double warm_ms) {
    if (warm_ms <= 0 || reps * warm_ms >= min_ms) return reps;
    return std::max(reps, static_cast<int>(std::min(1000.0, std::ceil(min_ms / warm_ms))));
}

// Training steps of each MLP with each activation, reluforge and oneDNN taking turns.
int run_mlp(const std::vector<std::string> &mlp_texts, const std::vector<std::string> &act_texts, int reps, double min_ms,
            double start_peak, PeakBesideReps &peaks) {
    fmt::print("\n{:<24} {:<11} {:<12} {:>9} {:>8} {:>6} {:>9}\n", "MLP (batch:widths)", "act", "implementation",
               "median ms", "GFLOP/s", "%peak", "ours/it");
    double log_sum = 0, log_ceiling = 0;  // the ceiling: oneDNN's step over one at the measured peak
    int compared = 0;
    for (const auto &text : mlp_texts) {
        for (const auto &act_text : act_texts) {
            MlpProblem p = parse_mlp(text, reluforge::parse_activation(act_text));
            std::vector<std::unique_ptr<MlpImpl>> impls;
            impls.push_back(make_reluforge_mlp(p));
            if (auto o = make_onednn_mlp(p)) impls.push_back(std::move(o));
            std::map<std::string, std::vector<double>> times;
            std::map<std::string, std::vector<float>> first_layer_dw;  // what every step ends with
            int case_reps = reps;
            peaks.start_case();
            for (int r = -1; r < case_reps; r++) {
                for (std::size_t k = 0; k < impls.size(); k++) {
                    auto &impl = impls[in_turn(k, r, impls.size())];
                    const auto t0 = std::chrono::steady_clock::now();
                    impl->step(p);
                    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
                    if (r >= 0) times[impl->name()].push_back(ms);
                    if (r == -1) first_layer_dw[impl->name()] = p.dw[0];
                    if (r == -1 && impl->name() == "reluforge") case_reps = reps_for(reps, min_ms, ms);
                }
                peaks.after_rep(r);
            }
            const double peak = peaks.finish_case(start_peak);
            const double ours = median(times["reluforge"]);
            for (auto &impl : impls) {
                const double ms = median(times[impl->name()]), gf = p.step_flops() / (ms * 1e-3) * 1e-9;
                fmt::print("{:<24} {:<11} {:<12} {:>9.3f} {:>8.1f} {:>5.0f}% {:>8.2f}x\n", text, act_text, impl->name(), ms, gf,
                           100.0 * gf / peak, ms / ours);
                if (impl->name() != "reluforge") {
                    log_sum += std::log(ms / ours);
                    log_ceiling += std::log(peak / gf);
                    compared++;
                    const double diff = max_rel_diff(first_layer_dw[impl->name()], first_layer_dw["reluforge"]);
                    if (diff > 1e-3) fmt::print("  warning: {}'s first-layer dW differs from reluforge's by {:.2e}\n", impl->name(), diff);
                }
            }
        }
    }
    if (compared) {
        fmt::print("\ngeometric mean speedup of reluforge's training step over oneDNN's: {:.2f}x over {} cases "
                   "(at most {:.2f}x for any code at the measured peak)\n",
                   std::exp(log_sum / compared), compared, std::exp(log_ceiling / compared));
    }
    fmt::print("%peak: against the FMA peak measured between each case's reps ({} over this run)\n", peaks.range());
    return 0;
}

// reluforge alone at 1 thread and at `threads`, taking turns rep by rep, so that a host whose
// speed drifts from minute to minute (shared machines) moves both alike: medians of each and of
// the per-rep speedups, beside what the FMA loop itself gains from the same threads.
int run_scaling(const std::vector<Shape> &shapes, const std::vector<std::string> &act_texts, int threads, int reps,
                double min_ms, bool forward_only, bool backward_only, double fma_speedup) {
    fmt::print("\n{:<16} {:<11} {:<4} {:>11} {:>11} {:>8}   (the FMA loop: {:.2f}x on {} threads)\n", "M x K x N", "act", "pass",
               "ms 1 thread", fmt::format("ms {} thr.", threads), "speedup", fma_speedup, threads);
    double log_sum = 0;
    int cases = 0;
    for (const Shape &s : shapes) {
        for (const auto &act_text : act_texts) {
            Problem p(s, {act_text, reluforge::parse_activation(act_text)});
            auto impl = make_reluforge(p);
            for (int pass = 0; pass < 2; pass++) {
                if ((pass == 0 && backward_only) || (pass == 1 && forward_only)) continue;
                std::vector<double> one, many, speedup;
                int case_reps = reps;
                for (int r = -1; r < case_reps; r++) {  // r = -1 warms up both
                    double ms[2];
                    for (int k = 0; k < 2; k++) {
                        // Going down to 1 stops the pool's workers; each switch is followed by an
                        // untimed call, so that restarted workers (their stacks, their scratch) are
                        // not timed.
                        reluforge::set_num_threads(k == 0 ? 1 : threads);
                        pass == 0 ? impl->forward(p) : impl->backward(p);
                        const auto t0 = std::chrono::steady_clock::now();
                        pass == 0 ? impl->forward(p) : impl->backward(p);
                        ms[k] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
                    }
                    if (r < 0) {
                        case_reps = reps_for(reps, min_ms, ms[0]);
                        continue;
                    }
                    one.push_back(ms[0]);
                    many.push_back(ms[1]);
                    speedup.push_back(ms[0] / ms[1]);
                }
                const double x = median(speedup);
                fmt::print("{:<16} {:<11} {:<4} {:>11.3f} {:>11.3f} {:>7.2f}x\n", fmt::format("{}x{}x{}", s.M, s.K, s.N), act_text,
                           pass == 0 ? "fwd" : "bwd", median(one), median(many), x);
                log_sum += std::log(x);
                cases++;
            }
        }
    }
    reluforge::set_num_threads(threads);
    if (cases) fmt::print("\ngeometric mean speedup on {} threads: {:.2f}x over {} cases\n", threads, std::exp(log_sum / cases), cases);
    return 0;
}

int bench_main(int argc, char **argv) {
    // OpenBLAS reads OPENBLAS_CORETYPE and oneDNN DNNL_MAX_CPU_ISA when they load. An inherited
    // OPENBLAS_CORETYPE (these machines set Haswell) forces OpenBLAS's AVX2 kernels; --isa caps
    // all three libraries alike. Start again with the environment that asks for.
    bool keep_coretype = false;
    std::string isa_text = "host";
    for (int a = 1; a < argc; a++) {
        keep_coretype |= std::string(argv[a]) == "--keep-openblas-coretype";
        if (std::string(argv[a]) == "--isa" && a + 1 < argc) isa_text = argv[a + 1];
    }
    const char *want_core = isa_text == "avx2" ? "Haswell" : isa_text == "sse41" ? "Nehalem" : nullptr;
    const char *want_dnnl = isa_text == "avx2" ? "AVX2" : isa_text == "sse41" ? "SSE41" : nullptr;
    auto env_is = [](const char *name, const char *want) {
        const char *v = std::getenv(name);
        return want ? v && std::string(v) == want : v == nullptr;
    };
    // Implementations take turns, so idle threads must not spin: OpenBLAS's pthreads busy-wait
    // for up to 2^28 cycles after a call, and OpenMP's (oneDNN's) for a while too, holding a core
    // the next implementation needs (on 2 cores: reluforge at 2 threads fell from 177 to 96
    // GFLOP/s at 1024^3 right after OpenBLAS). Passive waiting unless the caller chose otherwise.
    const bool set_waits = !std::getenv("OMP_WAIT_POLICY") || !std::getenv("OPENBLAS_THREAD_TIMEOUT");
    if (!std::getenv("RELUFORGE_BENCH_CHILD") &&
        (set_waits || !(keep_coretype || env_is("OPENBLAS_CORETYPE", want_core)) || !env_is("DNNL_MAX_CPU_ISA", want_dnnl))) {
        ::setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
        ::setenv("OPENBLAS_THREAD_TIMEOUT", "4", 0);
        if (const char *inherited = std::getenv("OPENBLAS_CORETYPE"); inherited && !want_core && !keep_coretype) {
            fmt::print("reluforge-bench: unsetting OPENBLAS_CORETYPE={} so that OpenBLAS picks its best kernels\n", inherited);
        }
        if (!keep_coretype) want_core ? ::setenv("OPENBLAS_CORETYPE", want_core, 1) : ::unsetenv("OPENBLAS_CORETYPE");
        want_dnnl ? ::setenv("DNNL_MAX_CPU_ISA", want_dnnl, 1) : ::unsetenv("DNNL_MAX_CPU_ISA");
        ::setenv("RELUFORGE_BENCH_CHILD", "1", 1);
        ::execv("/proc/self/exe", argv);
    }

    // OpenBLAS picks its core by CPU model and falls back to SSE3 kernels on a model it does not
    // know: run the core of the host's ISA instead, and say so.
    if (const char *core = openblas_better_core(); core && !keep_coretype && !want_core &&
                                                   env_is("RELUFORGE_BENCH_CHILD", "1")) {
        fmt::print("reluforge-bench: OpenBLAS chose its {} kernels, which do not use this CPU's widest vectors; "
                   "running its {} kernels (OPENBLAS_CORETYPE)\n", openblas_core(), core);
        ::setenv("OPENBLAS_CORETYPE", core, 1);
        ::setenv("RELUFORGE_BENCH_CHILD", "2", 1);
        ::execv("/proc/self/exe", argv);
    }

    CLI::App app{"reluforge-bench: fused activation layers against oneDNN and OpenBLAS"};
    std::vector<std::string> shape_texts{"512x512x512",   "1024x1024x1024", "2048x2048x2048",
                                         "64x1024x4096",  "4096x1024x64",   "256x4096x1024",
                                         "8192x64x256",   "16384x32x128",   "1024x128x1024"};
    std::vector<std::string> act_texts{"relu", "gelu", "silu", "elu", "leaky_relu", "prelu"};
    int threads = 1, reps = 11;
    std::string csv, json;
    bool forward_only = false, backward_only = false;
    app.add_option("--shapes", shape_texts, "MxKxN shapes")->delimiter(',')->capture_default_str();
    app.add_option("--acts", act_texts, "activations (spec syntax)")->delimiter(',')->capture_default_str();
    app.add_option("--threads", threads, "threads for every implementation")->capture_default_str();
    app.add_option("--reps", reps, "timed repetitions per implementation (medians are reported)")->capture_default_str();
    double min_ms = 250;
    app.add_option("--min-ms", min_ms,
                   "more repetitions (up to 1000) where --reps calls of reluforge take less than this many milliseconds")
        ->check(CLI::NonNegativeNumber)->capture_default_str();
    app.add_option("--csv", csv, "also write the table as CSV");
    app.add_option("--json", json, "also write the table as JSON");
    app.add_flag("--forward-only", forward_only);
    app.add_flag("--backward-only", backward_only);
    bool breakdown = false;
    app.add_flag("--breakdown", breakdown,
                 "also time reluforge's backward kernel by kernel, each over all rows (backward itself may run "
                 "blocks of rows: Linear::backward_block_rows)");
    app.add_flag("--keep-openblas-coretype", keep_coretype, "keep an inherited OPENBLAS_CORETYPE");
    app.add_option("--isa", isa_text, "cap every implementation at this ISA: host, avx512, avx2, sse41")
        ->check(CLI::IsMember({"host", "avx512", "avx2", "sse41"}))->capture_default_str();
    std::vector<std::string> mlp_texts;
    app.add_option("--mlp", mlp_texts,
                   "instead of single layers, time training steps of MLPs given as batch:in-hidden-...-out "
                   "(e.g. 256:784-1024-1024-10), hidden layers with each --acts activation")
        ->delimiter(',');
    bool scaling = false;
    app.add_flag("--scaling", scaling,
                 "instead of comparing libraries, time reluforge at 1 thread and at --threads taking turns, and report the speedup");
    CLI11_PARSE(app, argc, argv);
    if (scaling && threads < 2) throw CLI::ValidationError("--scaling", "needs --threads 2 or more");
    const auto shapes = mlp_texts.empty() ? parse_shapes(shape_texts) : std::vector<Shape>{};

    reluforge::jit::Options jo;
    jo.quiet = true;
    reluforge::jit::enable(jo);
    reluforge::set_num_threads(threads);
    if (isa_text != "host") reluforge::set_isa_limit(reluforge::parse_isa(isa_text));
    const bool wide = reluforge::isa_limit() >= reluforge::Isa::avx512 && reluforge::host_isa() >= reluforge::Isa::avx512;
#ifdef RELUFORGE_BENCH_OPENMP
    omp_set_num_threads(threads);
#endif
#ifdef RELUFORGE_BENCH_OPENBLAS
    openblas_set_num_threads(threads);
#endif
    const double peak1 = measure_peak_gflops(wide);
    const double peak = threads > 1 ? measure_peak_gflops(wide, threads) : peak1;
    const reluforge::CpuInfo &cpu = reluforge::host_cpu();
    fmt::print("CPU: {} ({} family {} model {}, kind {}, {}-bit FMA; L1d {} KiB, L2 {} KiB, L3 {} MiB)\n", cpu.model_name,
               cpu.vendor, cpu.family, cpu.model, reluforge::to_string(cpu.kind), cpu.fma_bits, cpu.l1d_bytes >> 10,
               cpu.l2_bytes >> 10, cpu.l3_bytes >> 20);
    fmt::print("machine peak: {:.1f} GFLOP/s on 1 thread{} ({} FMA, measured{})\n", peak1,
               threads > 1 ? fmt::format(", {:.1f} on {} threads together", peak, threads) : "", wide ? "avx512" : "avx2",
               scaling ? "" : " at the start; each case's %peak is against the peak measured between its reps");
    fmt::print("reluforge kernels: {}; OpenBLAS core: {}{}; oneDNN: {}\n", reluforge::to_string(std::min(reluforge::host_isa(), reluforge::isa_limit())),
               openblas_core() ? openblas_core() : "not built in",
               openblas_better_core() && isa_text == "host" ? " (narrower than this CPU's vectors: its column is no comparison)" : "",
#ifdef RELUFORGE_BENCH_ONEDNN
               "2.6"
#else
               "not built in"
#endif
    );

    PeakBesideReps peaks(wide, threads, std::min(reps, 11));
    if (!mlp_texts.empty()) return run_mlp(mlp_texts, act_texts, reps, min_ms, peak, peaks);
    if (scaling) return run_scaling(shapes, act_texts, threads, reps, min_ms, forward_only, backward_only, peak / peak1);

    std::vector<Row> rows;
    fmt::print("\n{:<16} {:<11} {:<4} {:<17} {:>9} {:>8} {:>6} {:>9}\n", "M x K x N", "act", "pass", "implementation", "median ms", "GFLOP/s", "%peak", "ours/it");
    for (const Shape &s : shapes) {
        for (const auto &act_text : act_texts) {
            Problem p(s, {act_text, reluforge::parse_activation(act_text)});
            std::vector<std::unique_ptr<Impl>> impls;
            impls.push_back(make_reluforge(p));  // first: it leaves Z for the others' backward
            if (!backward_only) impls.push_back(make_reluforge_prepacked(p));
            for (auto &i : make_onednn(p)) impls.push_back(std::move(i));
            for (auto &i : make_openblas(p)) impls.push_back(std::move(i));

            for (int pass = 0; pass < 2; pass++) {
                if ((pass == 0 && backward_only) || (pass == 1 && forward_only)) continue;
                const double flops = (pass == 0 ? 2.0 : 4.0) * s.M * double(s.K) * s.N;
                std::map<std::string, std::vector<double>> times;
                std::map<std::string, std::vector<float>> results;
                std::map<std::string, std::vector<float>> weight_gradients;  // backward: dW
                int case_reps = reps;
                peaks.start_case();
                for (int r = -1; r < case_reps; r++) {  // r = -1 warms up
                    for (std::size_t k = 0; k < impls.size(); k++) {
                        auto &impl = impls[in_turn(k, r, impls.size())];
                        if (pass == 1 && !impl->has_backward()) continue;
                        auto t0 = std::chrono::steady_clock::now();
                        pass == 0 ? impl->forward(p) : impl->backward(p);
                        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
                        if (r >= 0) times[impl->name()].push_back(ms);
                        if (r == -1) results[impl->name()] = pass == 0 ? p.y : p.dx;
                        if (r == -1 && pass == 1) weight_gradients[impl->name()] = p.dw;
                        if (r == -1 && impl->name() == "reluforge") case_reps = reps_for(reps, min_ms, ms);
                    }
                    peaks.after_rep(r);
                }
                const double case_peak = peaks.finish_case(peak);
                if (pass == 1 && breakdown) {
                    std::map<std::string, std::vector<double>> part_times;
                    std::vector<std::string> order;
                    for (int r = 0; r < case_reps; r++) {
                        for (const auto &[part, ms] : impls[0]->backward_parts(p)) {
                            if (r == 0) order.push_back(part);
                            part_times[part].push_back(ms);
                        }
                    }
                    for (const auto &part : order) {
                        const double ms = median(part_times[part]);
                        const double part_flops = part == "activation_backward" ? 0 : 2.0 * s.M * double(s.K) * s.N;
                        fmt::print("  reluforge {:<20} {:>9.3f} ms {:>8.1f} GFLOP/s\n", part, ms,
                                   part_flops / (ms * 1e-3) * 1e-9);
                    }
                }
                const double ours = median(times["reluforge"]);
                for (auto &impl : impls) {
                    if (!times.count(impl->name())) continue;
                    const double ms = median(times[impl->name()]);
                    const double gf = flops / (ms * 1e-3) * 1e-9;
                    rows.push_back({fmt::format("{}x{}x{}", s.M, s.K, s.N), act_text, pass == 0 ? "fwd" : "bwd", impl->name(), ms, gf,
                                    100.0 * gf / case_peak, ms / ours, case_peak});
                    const Row &row = rows.back();
                    fmt::print("{:<16} {:<11} {:<4} {:<17} {:>9.3f} {:>8.1f} {:>5.0f}% {:>8.2f}x\n", row.shape, row.act, row.pass, row.impl, row.ms, row.gflops, row.peak_pct, row.ours_speedup);
                    const double diff = max_rel_diff(results[impl->name()], results["reluforge"]);
                    if (diff > 1e-3) fmt::print("  warning: {} differs from reluforge by {:.2e} (relative to the largest value)\n", impl->name(), diff);
                    if (pass == 1) {
                        const double dw_diff = max_rel_diff(weight_gradients[impl->name()], weight_gradients["reluforge"]);
                        if (dw_diff > 1e-3) fmt::print("  warning: {}'s dW differs from reluforge's by {:.2e}\n", impl->name(), dw_diff);
                    }
                }
            }
        }
    }
    // Geometric means of ours/competitor per pass, over everything measured, and the most any
    // implementation could have reached against the same times running at the measured peak
    // (the competitor's time over the peak's: 100 / its %peak).
    struct Mean {
        double log_ours = 0, log_ceiling = 0;
        int cases = 0;
    };
    std::map<std::string, Mean> geo;
    for (const Row &r : rows) {
        if (r.impl == "reluforge") continue;
        auto &g = geo[r.pass + " vs " + r.impl];
        g.log_ours += std::log(r.ours_speedup);
        g.log_ceiling += std::log(100.0 / r.peak_pct);
        g.cases++;
    }
    // Prepacked against prepacked: the same W packed once by each, outside the timed region.
    std::map<std::pair<std::string, std::string>, double> prepacked;
    for (const Row &r : rows) {
        if (r.impl == "reluforge_prepacked") prepacked[{r.shape, r.act}] = r.ms;
    }
    for (const Row &r : rows) {
        const auto ours = prepacked.find({r.shape, r.act});
        if (r.impl != "onednn_prepacked" || ours == prepacked.end()) continue;
        auto &g = geo["fwd prepacked vs prepacked"];
        g.log_ours += std::log(r.ms / ours->second);
        g.log_ceiling += std::log(100.0 / r.peak_pct);
        g.cases++;
    }
    fmt::print("\ngeometric mean speedup of reluforge (and the most any code could reach at the measured peak):\n");
    for (const auto &[k, g] : geo) {
        fmt::print("  {:<28} {:.2f}x over {} cases (at most {:.2f}x)\n", k, std::exp(g.log_ours / g.cases), g.cases,
                   std::exp(g.log_ceiling / g.cases));
    }
    fmt::print("%peak: against the FMA peak measured between each case's reps ({} over this run)\n", peaks.range());

    if (!csv.empty()) {
        std::ofstream out(csv);
        out << "shape,act,pass,impl,median_ms,gflops,peak_pct,reluforge_speedup,peak_gflops\n";
        for (const Row &r : rows) out << fmt::format("{},{},{},{},{:.4f},{:.2f},{:.1f},{:.3f},{:.2f}\n", r.shape, r.act, r.pass, r.impl, r.ms, r.gflops, r.peak_pct, r.ours_speedup, r.peak);
    }
    if (!json.empty()) {
        std::ofstream out(json);
        out << fmt::format("{{\"peak_gflops_per_thread\": {:.2f}, \"threads\": {}, \"rows\": [\n", peak1, threads);
        for (size_t k = 0; k < rows.size(); k++) {
            const Row &r = rows[k];
            out << fmt::format("  {{\"shape\": \"{}\", \"act\": \"{}\", \"pass\": \"{}\", \"impl\": \"{}\", \"median_ms\": {:.4f}, \"gflops\": {:.2f}, \"peak_pct\": {:.1f}, \"reluforge_speedup\": {:.3f}, \"peak_gflops\": {:.2f}}}{}\n",
                               r.shape, r.act, r.pass, r.impl, r.ms, r.gflops, r.peak_pct, r.ours_speedup, r.peak, k + 1 < rows.size() ? "," : "");
        }
        out << "]}\n";
    }
    return 0;
}

}  // namespace

// A bad --acts or --shapes value (an activation the comparison cannot run, say) ends in a message.
int main(int argc, char **argv) {
    try {
        return bench_main(argc, argv);
    } catch (const std::exception &e) {
        std::fflush(stdout);
        fmt::print(stderr, "reluforge-bench: error: {}\n", e.what());
        return 1;
    }
}
