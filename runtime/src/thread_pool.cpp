// set_num_threads and num_threads over Halide's thread pool (one per process, in this library's
// copy of the Halide runtime, which AOT and JIT kernels alike call into).
#include "thread_pool.h"

#include "reluforge/error.h"
#include "reluforge/isa.h"
#include "reluforge/registry.h"

#include <HalideRuntime.h>
#include <fmt/format.h>

#include <atomic>
#include <mutex>

namespace reluforge {
namespace {

std::shared_mutex &pool_mutex() {
    static std::shared_mutex m;
    return m;
}

// default_thread_count() reads the environment and asks the kernel for the CPUs; kernels ask for
// the count on every call, so it is read once (Halide's pool also reads it once, at its start).
int default_threads() {
    static const int n = default_thread_count();
    return n;
}

std::atomic<int> g_threads{0};  // as last set; 0: default_threads() (Halide has no getter)
int g_pool_threads = 0;         // the count the pool last ran with (under pool_mutex); 0: unknown

}  // namespace

std::shared_lock<std::shared_mutex> detail::kernel_call_lock() { return std::shared_lock<std::shared_mutex>(pool_mutex()); }

void set_num_threads(int n) {
    if (n < 0) throw Error(ErrorCode::bad_argument, fmt::format("thread count {} is negative", n));
    const int want = n > 0 ? n : default_threads();
    std::unique_lock<std::shared_mutex> no_kernel_running(pool_mutex());
    // Halide 14 never shrinks a pool it has started: every worker it has spawned joins each
    // parallel loop (its target team size follows the threads created, not
    // halide_set_num_threads), so 2 -> 1 thread kept running on 2. To go down, stop the pool;
    // the next kernel starts it again with `want` threads.
    const int running = g_pool_threads > 0 ? g_pool_threads : default_threads();
    if (want < running) halide_shutdown_thread_pool();
    halide_set_num_threads(want);
    g_pool_threads = want;
    g_threads = n;
}

int num_threads() {
    const int n = g_threads.load();
    return n > 0 ? n : default_threads();
}

}  // namespace reluforge

extern "C" int reluforge_kernel_threads() { return reluforge::num_threads(); }
