// reluforge-jit-bench: what the JIT costs. Cold compile per kernel; warm start from the disk
// cache (a new engine, as in a new process: first kernel, then each further one); and the
// in-memory hit through the runtime's lookup. Medians, against the targets of the JIT design.
#include <reluforge/jit/engine.h>
#include <reluforge/reluforge.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <unistd.h>
#include <vector>

using namespace reluforge;
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

double ms_since(clock_type::time_point t) {
    return std::chrono::duration<double, std::milli>(clock_type::now() - t).count();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace

int main() {
    const std::vector<const char *> specs = {
        "forward:relu:bias=1:weight=kn:save=mask", "forward:gelu(approximate=tanh):bias=1:weight=kn:save=z",
        "forward:silu:bias=0:weight=nk:save=z",    "activation_backward:relu:save=mask",
        "backward_data:gelu:prev_bias=1:weight=kn:save=z", "backward_weight:bias=1:weight=kn",
        "forward:elu(alpha=0.5):bias=1:weight=kn:save=y", "backward_data:identity:prev_bias=0:weight=kn"};
    const fs::path dir = fs::temp_directory_path() / fmt::format("reluforge-jit-bench-{}", ::getpid());
    fs::remove_all(dir);
    jit::Options options;
    options.cache_dir = dir;

    std::vector<double> cold;
    {
        jit::Engine engine(options);
        for (const char *s : specs) {
            auto t = clock_type::now();
            engine.get(parse_spec(s));
            cold.push_back(ms_since(t));
        }
    }
    std::vector<double> first, further;
    for (int run = 0; run < 7; run++) {
        auto t = clock_type::now();
        jit::Engine engine(options);  // a new process would start here
        engine.get(parse_spec(specs[0]));
        first.push_back(ms_since(t));
        for (size_t k = 1; k < specs.size(); k++) {
            auto t2 = clock_type::now();
            engine.get(parse_spec(specs[k]));
            further.push_back(ms_since(t2));
        }
    }
    jit::enable(options);
    set_kernel_policy(KernelPolicy::jit_only);
    const KernelSpec hit_spec = parse_spec(specs[1]);
    find_kernel(hit_spec);
    std::vector<double> hit;
    for (int run = 0; run < 9; run++) {
        const int n = 20000;
        auto t = clock_type::now();
        for (int k = 0; k < n; k++) find_kernel(hit_spec);
        hit.push_back(ms_since(t) * 1000.0 / n);
    }
    fs::remove_all(dir);

    fmt::print("reluforge-jit-bench: {} specs, medians\n", specs.size());
    fmt::print("{:<44} {:>10} {:>10}\n", "", "median", "target");
    fmt::print("{:<44} {:>8.1f}ms {:>8}ms\n", "cold compile, per kernel", median(cold), "300");
    fmt::print("{:<44} {:>8.2f}ms {:>8}ms\n", "warm start: engine + first kernel from disk", median(first), "1");
    fmt::print("{:<44} {:>8.3f}ms {:>8}ms\n", "warm start: each further kernel from disk", median(further), "0.3");
    fmt::print("{:<44} {:>8.3f}us {:>8}us\n", "in-memory hit (runtime lookup)", median(hit), "1");
    return 0;
}
