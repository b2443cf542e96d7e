// x86 instruction-set variants: which one this CPU runs, and a cap on it.
#pragma once

#include <string_view>

namespace reluforge {

// In increasing order of preference.
enum class Isa { sse41 = 0, avx2 = 1, avx512 = 2 };
const char *to_string(Isa isa);
Isa parse_isa(std::string_view name);  // throws Error(bad_argument)

// The best ISA this CPU (and its OS) runs.
Isa host_isa();
// Caps the ISA of the CPU kernels chosen from then on (to compare ISAs on one machine).
void set_isa_limit(Isa limit);
Isa isa_limit();

}  // namespace reluforge
