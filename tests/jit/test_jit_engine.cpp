// The JIT engine: same results as AOT, compile once per kernel, thread safety.
#include "jit_test_support.h"
#include "reluforge/jit/engine.h"
#include "reluforge/reluforge.h"
#include "support/harness.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <filesystem>
#include <thread>
#include <unistd.h>

using namespace reluforge;
using jit_test::fresh_dir;
using jit_test::quiet_options;
namespace fs = std::filesystem;

namespace {

struct Policy {
    explicit Policy(KernelPolicy p) { set_kernel_policy(p); }
    ~Policy() { set_kernel_policy(KernelPolicy::jit_allowed); }
};

// Runs one forward of a layer B of cases::layers (weight [N,K], no bias, saving Z) and returns
// Y and Z, bit for bit.
std::vector<float> run_forward(const Linear &layer, unsigned seed) {
    const int M = 67, K = 33, N = 70;
    ref::Mat x(M, K), w(N, K), y(M, N, 0), z(M, N, 0);
    ref::fill_uniform(x, seed);
    ref::fill_uniform(w, seed + 1);
    x(0, 0) = NAN;
    ForwardArgs a;
    a.x = Tensor::matrix(x.v.data(), M, K);
    a.w = Tensor::matrix(w.v.data(), N, K);
    a.y = Tensor::matrix(y.v.data(), M, N);
    a.aux = Tensor::matrix(z.v.data(), M, N);
    layer.forward(a);
    y.v.insert(y.v.end(), z.v.begin(), z.v.end());
    return y.v;
}

}  // namespace

TEST_CASE("JIT kernels give the same bits as the AOT kernels of the same spec", "[jit]") {
    jit::enable(quiet_options(fresh_dir("same-bits")));
    for (const char *act : {"relu", "gelu(approximate=tanh)", "mish", "elu(alpha=0.5)"}) {
        const Linear layer(parse_activation(act), false, WeightLayout::nk, Save::z);
        std::vector<float> aot, jit_out;
        {
            Policy p(KernelPolicy::aot_only);
            REQUIRE(find_kernel(layer.forward_spec()).jit == false);
            aot = run_forward(layer, 3);
        }
        {
            Policy p(KernelPolicy::jit_only);
            REQUIRE(find_kernel(layer.forward_spec()).jit == true);
            jit_out = run_forward(layer, 3);
        }
        INFO(act);
        CHECK(std::memcmp(aot.data(), jit_out.data(), aot.size() * sizeof(float)) == 0);
    }
}

TEST_CASE("a spec with no AOT kernel is JIT-compiled and passes the reference checks", "[jit]") {
    jit::enable(quiet_options(fresh_dir("reference")));
    // cases::layers() are all AOT-built; these configurations are not.
    const Linear odd(parse_activation("softplus(beta=3,threshold=5)"), true, WeightLayout::nk, Save::z);
    REQUIRE_FALSE(has_kernel(odd.forward_spec()));
    for (const auto &shape : cases::shapes()) {
        auto f = cases::check_forward(odd, shape, 7, true);
        INFO(f.report);
        CHECK(f.failed == 0);
        auto b = cases::check_backward(odd, shape, 8, false);
        INFO(b.report);
        CHECK(b.failed == 0);
    }
    Policy p(KernelPolicy::aot_only);
    CHECK_THROWS_WITH(find_kernel(odd.forward_spec()), Catch::Contains("the kernel policy is aot_only"));
}

TEST_CASE("many threads asking for the same new kernels compile each once", "[jit]") {
    jit::Engine engine(quiet_options(fresh_dir("threads")));
    const char *specs[] = {"forward:relu:bias=0", "forward:silu:bias=0", "forward:hardswish:save=z",
                           "backward_data:celu(alpha=3):save=y"};
    std::vector<std::vector<KernelFn>> got(8, std::vector<KernelFn>(4));
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; t++) {
        threads.emplace_back([&, t] {
            for (int s = 0; s < 4; s++) got[size_t(t)][size_t((s + t) % 4)] = engine.get(parse_spec(specs[(s + t) % 4])).fn;
        });
    }
    for (auto &t : threads) t.join();
    for (int t = 1; t < 8; t++) CHECK(got[size_t(t)] == got[0]);
    const jit::Stats s = engine.stats();
    CHECK(s.compiled + s.loaded_from_disk == 4);
    CHECK(s.memory_hits == 28);
}

TEST_CASE("a JIT failure is reported and does not poison later requests", "[jit]") {
    jit::Engine engine(quiet_options(fresh_dir("failure")));
    // A spec built by hand past the parser's checks fails inside the compile.
    KernelSpec bad = parse_spec("forward:gelu");
    bad.save = Save::mask;
    CHECK_THROWS_WITH(engine.get(bad), Catch::Contains("save=mask needs a piecewise-linear activation"));
    CHECK_THROWS_WITH(engine.get(bad), Catch::Contains("save=mask needs a piecewise-linear activation"));
    CHECK(engine.get(parse_spec("forward:relu:bias=0")).fn != nullptr);
}

TEST_CASE("destroying an engine while another thread runs kernels neither hangs nor stops them", "[jit]") {
    // Halide's worker threads serve the whole process: an engine going away must leave them to
    // the kernels of every other engine and of the AOT library.
    jit::Engine running(quiet_options(fresh_dir("destroy_running")));
    const KernelHandle k = running.get(parse_spec("forward:relu:bias=0"));
    const int previous_threads = num_threads();
    set_num_threads(2);  // parallel loops go through the worker pool
    const int M = 192, K = 64, N = 256;
    ref::Mat x(M, K), w(K, N), y(M, N, 0);
    ref::fill_uniform(x, 31);
    ref::fill_uniform(w, 32);
    std::atomic<bool> stop{false};
    std::atomic<int> runs{0};
    auto work = std::async(std::launch::async, [&] {
        while (!stop) {
            run_kernel(k, {Tensor::matrix(x.v.data(), M, K), Tensor::matrix(w.v.data(), K, N), Tensor::matrix(y.v.data(), M, N)});
            runs++;
        }
    });
    auto churn = std::async(std::launch::async, [&] {
        for (int i = 0; i < 50; i++) jit::Engine local(quiet_options(fresh_dir("destroy_local")));
        stop = true;
    });
    const auto deadline = std::chrono::seconds(120);
    if (churn.wait_for(deadline) != std::future_status::ready || work.wait_for(deadline) != std::future_status::ready) {
        // A hang cannot be unwound: say so and leave without waiting for the stuck threads.
        std::fprintf(stderr, "engine destruction hung a thread running kernels (%d runs)\n", runs.load());
        std::_Exit(1);
    }
    work.get();
    set_num_threads(previous_threads);
    CHECK(runs > 0);
    double z = 0;
    for (int r = 0; r < K; r++) z += double(x(M - 1, r)) * w(r, N - 1);
    CHECK(std::abs(y(M - 1, N - 1) - (z > 0 ? z : 0)) <= 1e-5 * (1 + std::abs(z)));
}

TEST_CASE("the JIT needs no temporary directory: a TMPDIR that is not a directory does not stop it", "[jit]") {
    jit::Options options = quiet_options(fresh_dir("bad_tmpdir"));
    options.use_disk_cache = false;
    jit::Engine engine(options);
    const std::string previous = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "";
    ::setenv("TMPDIR", "/nonexistent/reluforge", 1);
    const KernelSpec spec = parse_spec("forward:softplus(beta=3):bias=0:save=z");
    KernelFn fn = nullptr;
    CHECK_NOTHROW(fn = engine.get(spec).fn);
    if (previous.empty()) {
        ::unsetenv("TMPDIR");
    } else {
        ::setenv("TMPDIR", previous.c_str(), 1);
    }
    CHECK(fn != nullptr);
    CHECK(engine.stats().compiled == 1);
}
