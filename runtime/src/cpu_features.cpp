#include "reluforge/isa.h"

#include "reluforge/error.h"

#include <algorithm>
#include <atomic>
#include <cpuid.h>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <unistd.h>

namespace reluforge {
namespace {
std::atomic<int> g_isa_limit{static_cast<int>(Isa::avx512)};
}

const char *to_string(Isa isa) {
    switch (isa) {
    case Isa::sse41: return "sse41";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
    }
    return "?";
}

Isa parse_isa(std::string_view name) {
    for (Isa isa : {Isa::sse41, Isa::avx2, Isa::avx512}) {
        if (name == to_string(isa)) return isa;
    }
    throw Error(ErrorCode::bad_argument,
                "unknown x86 target '" + std::string(name) + "'; allowed: avx512, avx2, sse41");
}

Isa host_isa() {
    // The builtins also check that the OS saves the wider register state.
    static const Isa isa = [] {
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
            __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
            __builtin_cpu_supports("avx512cd")) {
            return Isa::avx512;
        }
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::avx2;
        return Isa::sse41;
    }();
    return isa;
}

void set_isa_limit(Isa limit) { g_isa_limit = static_cast<int>(limit); }

const char *to_string(CpuKind kind) {
    switch (kind) {
    case CpuKind::other: return "other";
    case CpuKind::zen3: return "zen3";
    case CpuKind::zen4: return "zen4";
    case CpuKind::zen5: return "zen5";
    case CpuKind::intel_avx512: return "intel_avx512";
    }
    return "?";
}

CpuKind parse_cpu_kind(std::string_view name) {
    for (CpuKind kind : kCpuKinds) {
        if (name == to_string(kind)) return kind;
    }
    throw Error(ErrorCode::bad_argument,
                "unknown CPU kind '" + std::string(name) + "'; allowed: zen3, zen4, zen5, intel_avx512, other");
}

namespace {

std::string brand_string() {
    unsigned regs[12] = {};
    unsigned max = 0, b = 0, c = 0, d = 0;
    __get_cpuid(0x80000000u, &max, &b, &c, &d);
    if (max < 0x80000004u) return "";
    for (unsigned leaf = 0; leaf < 3; leaf++) {
        __get_cpuid(0x80000002u + leaf, &regs[4 * leaf], &regs[4 * leaf + 1], &regs[4 * leaf + 2], &regs[4 * leaf + 3]);
    }
    std::string s(reinterpret_cast<const char *>(regs), sizeof regs);
    s = s.c_str();  // up to the first NUL
    const auto first = s.find_first_not_of(' '), last = s.find_last_not_of(' ');
    return first == std::string::npos ? "" : s.substr(first, last - first + 1);
}

CpuInfo read_cpu() {
    CpuInfo c;
    unsigned a = 0, b = 0, cx = 0, d = 0;
    __get_cpuid(0, &a, &b, &cx, &d);
    char vendor[13] = {};
    std::memcpy(vendor, &b, 4);
    std::memcpy(vendor + 4, &d, 4);
    std::memcpy(vendor + 8, &cx, 4);
    c.vendor = vendor;
    __get_cpuid(1, &a, &b, &cx, &d);
    const int base_family = int((a >> 8) & 0xf), base_model = int((a >> 4) & 0xf);
    c.family = base_family == 0xf ? base_family + int((a >> 20) & 0xff) : base_family;
    c.model = base_family == 0xf || base_family == 6 ? base_model | int(((a >> 16) & 0xf) << 4) : base_model;
    c.model_name = brand_string();
    const Isa isa = host_isa();
    // Family 0x19 is Zen 3 and Zen 4; of the two only Zen 4 has AVX-512.
    if (c.vendor == "AuthenticAMD" && c.family == 0x19 && isa == Isa::avx2) c.kind = CpuKind::zen3;
    if (c.vendor == "AuthenticAMD" && c.family == 0x19 && isa == Isa::avx512) c.kind = CpuKind::zen4;
    if (c.vendor == "AuthenticAMD" && c.family == 0x1a && isa == Isa::avx512) c.kind = CpuKind::zen5;
    if (c.vendor == "GenuineIntel" && isa == Isa::avx512) c.kind = CpuKind::intel_avx512;
    c.fma_bits = c.kind == CpuKind::zen5 || c.kind == CpuKind::intel_avx512 ? 512 : isa == Isa::sse41 ? 128 : 256;
    auto cache = [](int name) { const long v = ::sysconf(name); return v > 0 ? std::int64_t(v) : std::int64_t(0); };
    c.l1d_bytes = cache(_SC_LEVEL1_DCACHE_SIZE);
    c.l2_bytes = cache(_SC_LEVEL2_CACHE_SIZE);
    c.l3_bytes = cache(_SC_LEVEL3_CACHE_SIZE);
    return c;
}

}  // namespace

const CpuInfo &host_cpu() {
    static const CpuInfo info = read_cpu();
    return info;
}
Isa isa_limit() { return static_cast<Isa>(g_isa_limit.load()); }

int default_thread_count() {
    if (const char *env = std::getenv("HL_NUM_THREADS")) {
        if (int n = std::atoi(env); n > 0) return n;
    }
    return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace reluforge
