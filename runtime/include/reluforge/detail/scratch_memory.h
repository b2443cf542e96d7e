// The kernels' scratch memory (halide_malloc and halide_free, scratch_memory.cpp): each thread
// keeps the blocks it freed for the next call, up to a bound.
#pragma once

#include <cstddef>

namespace reluforge::detail {

// Bytes the calling thread holds for reuse (always 0 under AddressSanitizer).
std::size_t cached_scratch_bytes();

}  // namespace reluforge::detail
