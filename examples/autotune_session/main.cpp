// Times the AOT kernels built from the tuning database against the default table's schedule
// (compiled by the JIT), on the two tuned shapes, and checks that both give the same bits.
#include "tuned_kernels.h"

#include <reluforge/jit/engine.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

using namespace reluforge;

namespace {

double median_ms(const KernelHandle &k, const std::vector<Tensor> &args) {
    std::vector<double> t;
    for (int r = 0; r < 12; r++) {
        const auto t0 = std::chrono::steady_clock::now();
        run_kernel(k, args);
        t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

}  // namespace

int main() {
    const KernelSpec spec = parse_spec(tuned_kernels::all_specs[0]);
    jit::Options o;
    o.tuning_db.clear();  // the default schedules, for comparison
    jit::Engine engine(o);
    int failures = 0;
    std::printf("%-14s %-44s %10s %10s %8s\n", "MxKxN", "AOT variant (shape rule)", "tuned ms", "default ms", "speedup");
    const int shapes[2][3] = {{256, 512, 512}, {4096, 256, 64}};
    for (const auto &mkn : shapes) {
        const int M = mkn[0], K = mkn[1], N = mkn[2];
        std::vector<float> x(size_t(M) * K), w(size_t(K) * N), b(N), y1(size_t(M) * N), y2(size_t(M) * N);
        for (size_t k = 0; k < x.size(); k++) x[k] = float(int(k % 19) - 9) * 0.01f;
        for (size_t k = 0; k < w.size(); k++) w[k] = float(int(k % 23) - 11) * 0.01f;
        std::vector<std::uint8_t> m1(size_t(M) * mask_row_bytes(N)), m2(m1.size());
        auto args = [&](std::vector<float> &y, std::vector<std::uint8_t> &m) {
            return std::vector<Tensor>{Tensor::matrix(x.data(), M, K), Tensor::matrix(w.data(), K, N),
                                       Tensor::vector(b.data(), N), Tensor::matrix(y.data(), M, N),
                                       Tensor::mask(m.data(), M, N)};
        };
        const Shape shape{M, N, K};
        const KernelHandle tuned = find_kernel(spec, shape), plain = engine.get(spec, tuned.isa, shape);
        const double t_tuned = median_ms(tuned, args(y1, m1)), t_plain = median_ms(plain, args(y2, m2));
        const bool same = y1 == y2 && m1 == m2;  // a schedule never reorders a sum
        failures += !same;
        std::printf("%-14s %-44s %10.3f %10.3f %7.2fx%s\n", (std::to_string(M) + "x" + std::to_string(K) + "x" + std::to_string(N)).c_str(),
                    tuned.shape_rule.empty() ? "(default table)" : tuned.shape_rule.c_str(), t_tuned, t_plain,
                    t_plain / t_tuned, same ? "" : "  RESULTS DIFFER");
    }
    return failures == 0 ? 0 : 1;
}
