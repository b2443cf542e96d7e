// halide_malloc and halide_free for every kernel, AOT or JIT (Halide's runtime defines them weak;
// these definitions replace them, as HalideRuntime.h documents).
//
// Kernels allocate their scratch (packed panels, transposed copies, a task's accumulators) on
// every call and free it on return. glibc serves a block over its mmap threshold with fresh
// pages, or trims its heap once the block is freed, so a kernel called in a loop page-faulted its
// scratch in again on every call: a training step of 256:784-1024-1024-10 (gelu, the first
// shape a process ran) took 25.9 ms against 15.8 ms with glibc's mmap and trim thresholds raised
// out of reach (AMD EPYC Zen 5, 1 thread, reluforge-bench --mlp). So each thread keeps the
// blocks it freed, up to a bound, and hands them out again to a request of about their size.
#include "reluforge/detail/scratch_memory.h"

#include <HalideRuntime.h>

#include <array>
#include <cstddef>
#include <cstdlib>

namespace {

// Every block is aligned to, and its caller's memory starts, this many bytes past the block's
// start, where its capacity is recorded. Halide needs vector alignment and 8 readable bytes
// before the start and past the end.
constexpr std::size_t kAlignment = 128;
// Smaller requests go to malloc and back: glibc keeps them in its heap without faults.
constexpr std::size_t kSmallestCached = std::size_t(64) << 10;
// Capacities are rounded up to a multiple of this, so that nearby sizes share blocks.
constexpr std::size_t kGranule = std::size_t(64) << 10;
// What a thread keeps at most, and in how many blocks.
constexpr std::size_t kCachedBytesPerThread = std::size_t(64) << 20;
constexpr int kCachedBlocksPerThread = 8;
// Under AddressSanitizer every block goes back to malloc, so that it sees each one's lifetime.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kCaching = false;
#else
constexpr bool kCaching = true;
#endif

struct Block {
    char *base = nullptr;
    std::size_t capacity = 0;
};

// Blocks this thread freed, oldest first.
struct ThreadCache {
    std::array<Block, kCachedBlocksPerThread> blocks{};
    int count = 0;
    std::size_t bytes = 0;

    void remove(int at) {
        bytes -= blocks[std::size_t(at)].capacity;
        for (int k = at; k + 1 < count; k++) blocks[std::size_t(k)] = blocks[std::size_t(k) + 1];
        count--;
    }
    ~ThreadCache();
};

// Set once the thread's cache is destroyed: a block freed after that (a static destructor's)
// goes straight back to malloc. A trivially destructible flag stays readable to the end.
thread_local bool cache_gone = false;
thread_local ThreadCache cache;

ThreadCache::~ThreadCache() {
    for (int k = 0; k < count; k++) std::free(blocks[std::size_t(k)].base);
    count = 0;
    bytes = 0;
    cache_gone = true;
}

std::size_t &capacity_of(char *base) { return *reinterpret_cast<std::size_t *>(base); }

std::size_t round_up(std::size_t size, std::size_t multiple) { return (size + multiple - 1) / multiple * multiple; }

// A block of `bytes` (a multiple of kAlignment, as aligned_alloc requires) recording `capacity`:
// its size where it may be cached, 0 where it goes back to malloc when freed.
char *allocate_block(std::size_t bytes, std::size_t capacity) {
    // The trailing kAlignment bytes are the readable margin past the end.
    char *base = static_cast<char *>(std::aligned_alloc(kAlignment, kAlignment + bytes + kAlignment));
    if (base) capacity_of(base) = capacity;
    return base;
}

}  // namespace

extern "C" void *halide_malloc(void *, size_t size) {
    if (size < kSmallestCached || !kCaching) {
        char *base = allocate_block(round_up(size, kAlignment), 0);
        return base ? base + kAlignment : nullptr;
    }
    const std::size_t capacity = round_up(size, kGranule);
    if (!cache_gone) {
        // The smallest cached block that holds the request without wasting more than its size.
        int best = -1;
        for (int k = 0; k < cache.count; k++) {
            const std::size_t c = cache.blocks[std::size_t(k)].capacity;
            if (c >= capacity && c <= 2 * capacity && (best < 0 || c < cache.blocks[std::size_t(best)].capacity)) best = k;
        }
        if (best >= 0) {
            char *base = cache.blocks[std::size_t(best)].base;
            cache.remove(best);
            return base + kAlignment;
        }
    }
    char *base = allocate_block(capacity, capacity);
    return base ? base + kAlignment : nullptr;
}

extern "C" void halide_free(void *, void *ptr) {
    if (!ptr) return;
    char *base = static_cast<char *>(ptr) - kAlignment;
    const std::size_t capacity = capacity_of(base);
    if (capacity == 0 || capacity > kCachedBytesPerThread || cache_gone) {
        std::free(base);
        return;
    }
    // Room for it: the oldest blocks go back to malloc first.
    while (cache.count > 0 && (cache.count == kCachedBlocksPerThread || cache.bytes + capacity > kCachedBytesPerThread)) {
        std::free(cache.blocks[0].base);
        cache.remove(0);
    }
    cache.blocks[std::size_t(cache.count++)] = {base, capacity};
    cache.bytes += capacity;
}

std::size_t reluforge::detail::cached_scratch_bytes() { return cache_gone ? 0 : cache.bytes; }
