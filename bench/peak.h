// The machine's measured peak fp32 FMA rate (GFLOP/s), in the same run.
#pragma once

// With AVX-512 FMAs when allowed and present, else AVX2: the best of several rounds, each
// running the FMA loop on `threads` threads at once and summing their rates. On a shared
// machine N threads together can fall short of N times one (shared cores or a busy host).
double measure_peak_gflops(bool allow_avx512, int threads = 1);

// One round of that: a few milliseconds. The bench runs one between the reps of each case, so
// that the case's share of the peak is against the speed the host had while it ran (a shared
// host drifts by 10-20% within minutes).
double measure_peak_round(bool allow_avx512, int threads = 1);
