// The machine's measured peak fp32 FMA rate for one thread (GFLOP/s), in the same run.
#pragma once

// With AVX-512 FMAs when allowed and present, else AVX2.
double measure_peak_gflops(bool allow_avx512);
