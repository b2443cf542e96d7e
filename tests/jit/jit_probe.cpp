// A separate process for the cache tests: JITs the given forward specs (bias=0, weight=kn) with
// the cache in argv[1], runs each on data whose result it knows, and prints the engine's counts
// as "compiled=N loaded=N". Exits non-zero on a wrong result. With --threads=T before the specs,
// T threads each run every spec, starting at different ones.
#include "reluforge/jit/engine.h"
#include "reluforge/reluforge.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

using namespace reluforge;

namespace {
// X = [1, -2], W = I: Z = X, so Y = [act(1), act(-2)]. False (and a line on stderr) when wrong.
bool runs_right(const char *text) {
    const KernelSpec spec = parse_spec(text);
    std::vector<float> x{1.0f, -2.0f}, w{1, 0, 0, 1}, y(2);
    run_kernel(spec, {Tensor::matrix(x.data(), 1, 2), Tensor::matrix(w.data(), 2, 2), Tensor::matrix(y.data(), 1, 2)});
    float negative = -2.0f;  // identity
    if (spec.act.kind == Act::relu || spec.act.kind == Act::relu6) negative = 0.0f;
    if (spec.act.kind == Act::leaky_relu) negative = -2.0f * spec.act.slope;
    if (y[0] == 1.0f && y[1] == negative) return true;
    std::fprintf(stderr, "%s: got [%g, %g]\n", text, y[0], y[1]);
    return false;
}
}  // namespace

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    jit::Options options;
    options.cache_dir = argv[1];
    jit::Engine &engine = jit::enable(options);
    set_kernel_policy(KernelPolicy::jit_only);
    int first = 2, threads = 1;
    if (std::string(argv[2]).rfind("--threads=", 0) == 0) {
        threads = std::max(1, std::atoi(argv[2] + 10));
        first = 3;
    }
    std::atomic<int> wrong{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; t++) {
        workers.emplace_back([&, t] {
            for (int a = 0; a < argc - first; a++) {
                if (!runs_right(argv[first + (a + t) % (argc - first)])) wrong++;
            }
        });
    }
    for (auto &w : workers) w.join();
    const jit::Stats s = engine.stats();
    std::printf("compiled=%llu loaded=%llu\n", static_cast<unsigned long long>(s.compiled),
                static_cast<unsigned long long>(s.loaded_from_disk));
    return wrong ? 1 : 0;
}
