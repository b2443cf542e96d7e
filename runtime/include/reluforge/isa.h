// x86 instruction-set variants: which one this CPU runs, and a cap on it; and what kind of CPU
// it is, as far as schedules go.
#pragma once

#include <cstdint>
#include <string>
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

// Microarchitectures whose schedules were measured apart. Zen 3 runs AVX2 (16 vector registers)
// on two 256-bit FMA pipes; Zen 4 runs AVX-512 on 256-bit datapaths; Zen 5 and Intel's AVX-512
// server cores have two 512-bit FMA pipes.
enum class CpuKind { other, zen3, zen4, zen5, intel_avx512 };
inline constexpr CpuKind kCpuKinds[] = {CpuKind::other, CpuKind::zen3, CpuKind::zen4, CpuKind::zen5,
                                        CpuKind::intel_avx512};
const char *to_string(CpuKind kind);
CpuKind parse_cpu_kind(std::string_view name);  // throws Error(bad_argument)

struct CpuInfo {
    std::string vendor;      // CPUID's vendor: "AuthenticAMD", "GenuineIntel", ...
    int family = 0;          // display family and model (CPUID leaf 1, extended fields added)
    int model = 0;
    std::string model_name;  // the brand string, as /proc/cpuinfo's "model name"
    CpuKind kind = CpuKind::other;
    int fma_bits = 0;        // width of the FMA datapath: 512, 256 or 128 (from the kind and ISA)
    std::int64_t l1d_bytes = 0, l2_bytes = 0, l3_bytes = 0;  // 0 where the OS does not say
};
// This CPU, read once.
const CpuInfo &host_cpu();

// The threads CPU kernels run on unless set_num_threads says otherwise: HL_NUM_THREADS if set,
// else one per core (Halide's own default, which it only decides when its pool starts).
int default_thread_count();

}  // namespace reluforge
