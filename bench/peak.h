// The machine's measured peak fp32 FMA rate for one thread (GFLOP/s), in the same run.
#pragma once

double measure_peak_gflops();
const char *peak_isa();
