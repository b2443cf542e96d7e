// Halide's thread pool as every kernel call shares it: the thread count, and a lock each call
// holds while it runs so that the count can change between calls.
#pragma once

#include <shared_mutex>

namespace reluforge::detail {

// Held (shared) by a kernel call while it runs; set_num_threads takes it exclusively.
std::shared_lock<std::shared_mutex> kernel_call_lock();

}  // namespace reluforge::detail

// num_threads() for the kernels, which ask at each call how many threads share their work.
extern "C" int reluforge_kernel_threads();
