// 64-bit FNV-1a: the one hash behind spec hashes, cache entry names and checksums. Stable across
// processes, platforms and versions.
#pragma once

#include <cstdint>
#include <string_view>

namespace reluforge {

constexpr std::uint64_t fnv1a64(std::string_view bytes) {
    std::uint64_t h = 14695981039346656037ull;
    for (char c : bytes) {
        h ^= static_cast<unsigned char>(c);
        h *= 1099511628211ull;
    }
    return h;
}

}  // namespace reluforge
