// jit_host: a host program with no AOT kernels. It asks the runtime for a handful of specs; the
// JIT engine compiles each on first use (or loads it from the disk cache, on every start after
// the first) and the second request is an in-memory hit. Run it twice to see the cache at work.
#include <reluforge/jit/engine.h>
#include <reluforge/reluforge.h>

#include <fmt/format.h>

#include <chrono>
#include <vector>

using namespace reluforge;

int main() {
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    jit::Options options;  // cache in $RELUFORGE_CACHE_DIR, else $XDG_CACHE_HOME/reluforge, else ~/.cache/reluforge
    jit::Engine &engine = jit::enable(options);
    fmt::print("kernel cache: {}{}\n", options.cache_dir.string(), engine.disk_cache_usable() ? "" : " (unusable: memory only)");

    const char *specs[] = {"forward:gelu(approximate=tanh):bias=1:weight=nk:save=z",
                           "activation_backward:gelu(approximate=tanh):save=z",
                           "backward_data:identity:prev_bias=0:weight=nk",
                           "backward_weight:bias=0:weight=nk",
                           "forward:mish:bias=1:weight=kn:save=none:counts=1"};
    fmt::print("{:<56} {:>11} {:>12}  {}\n", "spec", "first (ms)", "again (us)", "source");
    for (const char *text : specs) {
        const KernelSpec spec = parse_spec(text);
        const jit::Stats before = engine.stats();
        auto t0 = clock::now();
        const KernelHandle k = find_kernel(spec);
        auto t1 = clock::now();
        find_kernel(spec);
        auto t2 = clock::now();
        const jit::Stats after = engine.stats();
        fmt::print("{:<56} {:>11.2f} {:>12.2f}  {} ({})\n", text, std::chrono::duration<double, std::milli>(t1 - t0).count(),
                   std::chrono::duration<double, std::micro>(t2 - t1).count(),
                   after.compiled > before.compiled ? "compiled" : "loaded from the disk cache", to_string(k.isa));
    }

    // Use one: a small gelu layer, forward.
    const int M = 4, K = 3, N = 5;
    std::vector<float> x(M * K, 0.5f), w(N * K, 0.25f), b(N, -0.1f), y(M * N), z(M * N);
    Linear layer(parse_activation("gelu(approximate=tanh)"), true, WeightLayout::nk, Save::z);
    layer.forward({Tensor::matrix(x.data(), M, K), Tensor::matrix(w.data(), N, K), Tensor::vector(b.data(), N), {},
                   Tensor::matrix(y.data(), M, N), Tensor::matrix(z.data(), M, N), {}});
    fmt::print("gelu layer: z = {:.4f}, y = {:.4f}\n", z[0], y[0]);

    const jit::Stats s = engine.stats();
    fmt::print("{} compiled, {} loaded from the disk cache, {} in-memory hits; {:.0f} ms in all\n", s.compiled,
               s.loaded_from_disk, s.memory_hits, std::chrono::duration<double, std::milli>(clock::now() - start).count());
    return 0;
}
