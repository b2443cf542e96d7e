#include "reluforge/isa.h"

#include "reluforge/error.h"

#include <atomic>
#include <string>

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
Isa isa_limit() { return static_cast<Isa>(g_isa_limit.load()); }

}  // namespace reluforge
