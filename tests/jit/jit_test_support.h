// Helpers shared by the JIT tests: a fresh cache directory per test and process, and quiet options.
#pragma once

#include "reluforge/isa.h"
#include "reluforge/jit/engine.h"

#include <filesystem>
#include <string>
#include <unistd.h>

namespace jit_test {

inline std::filesystem::path fresh_dir(const std::string &name) {
    auto d = std::filesystem::temp_directory_path() / ("reluforge-test-" + name + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(d);
    return d;
}

inline reluforge::jit::Options quiet_options(const std::filesystem::path &dir) {
    reluforge::jit::Options o;
    o.cache_dir = dir;
    o.quiet = true;
    return o;
}

// Caps the ISA kernels run at for one scope (set_isa_limit), then lifts the cap.
struct IsaLimit {
    explicit IsaLimit(reluforge::Isa isa) { reluforge::set_isa_limit(isa); }
    ~IsaLimit() { reluforge::set_isa_limit(reluforge::Isa::avx512); }
    IsaLimit(const IsaLimit &) = delete;
    IsaLimit &operator=(const IsaLimit &) = delete;
};

}  // namespace jit_test
