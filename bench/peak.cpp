#include "peak.h"

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

namespace {

// 24 independent FMA chains: enough to cover the FMA latency on two 512-bit pipes.
__attribute__((target("avx512f"))) float fma_loop_512(long iters) {
    __m512 a[24];
    const __m512 x = _mm512_set1_ps(1.0000001f), y = _mm512_set1_ps(0.9999999f);
    for (int k = 0; k < 24; k++) a[k] = _mm512_set1_ps(float(k));
    for (long n = 0; n < iters; n++) {
#pragma GCC unroll 24
        for (int k = 0; k < 24; k++) a[k] = _mm512_fmadd_ps(a[k], x, y);
    }
    __m512 s = a[0];
    for (int k = 1; k < 24; k++) s = _mm512_add_ps(s, a[k]);
    return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx2,fma"))) float fma_loop_256(long iters) {
    __m256 a[12];
    const __m256 x = _mm256_set1_ps(1.0000001f), y = _mm256_set1_ps(0.9999999f);
    for (int k = 0; k < 12; k++) a[k] = _mm256_set1_ps(float(k));
    for (long n = 0; n < iters; n++) {
#pragma GCC unroll 12
        for (int k = 0; k < 12; k++) a[k] = _mm256_fmadd_ps(a[k], x, y);
    }
    __m256 s = a[0];
    for (int k = 1; k < 12; k++) s = _mm256_add_ps(s, a[k]);
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0];
}

bool has_avx512() {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}

// GFLOP/s of one run of the FMA loop on the calling thread.
double one_run(bool wide) {
    const long iters = 2'000'000;
    const double flops = 2.0 * (wide ? 16 * 24 : 8 * 12) * double(iters);
    volatile float sink = 0;
    auto t0 = std::chrono::steady_clock::now();
    sink = sink + (wide ? fma_loop_512(iters) : fma_loop_256(iters));
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return flops / s * 1e-9;
}

}  // namespace

double measure_peak_round(bool allow_avx512, int threads) {
    const bool wide = allow_avx512 && has_avx512();
    std::vector<double> rates(size_t(threads > 1 ? threads : 1));
    std::vector<std::thread> others;
    for (size_t t = 1; t < rates.size(); t++) others.emplace_back([&rates, t, wide] { rates[t] = one_run(wide); });
    rates[0] = one_run(wide);
    for (auto &t : others) t.join();
    double total = 0;
    for (double r : rates) total += r;
    return total;
}

double measure_peak_gflops(bool allow_avx512, int threads) {
    double best = 0;
    for (int round = 0; round < 7; round++) best = std::max(best, measure_peak_round(allow_avx512, threads));
    return best;  // the peak is the best the machine showed, not the typical
}
