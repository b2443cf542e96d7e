// The kernels' scratch allocator: alignment, the margins Halide may read, and reuse of freed
// blocks by the thread that freed them.
#include "reluforge/detail/scratch_memory.h"

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <thread>

extern "C" void *halide_malloc(void *user_context, size_t size);
extern "C" void halide_free(void *user_context, void *ptr);

using reluforge::detail::cached_scratch_bytes;

TEST_CASE("scratch blocks are vector-aligned and whole, small and large", "[scratch]") {
    for (std::size_t size : {std::size_t(1), std::size_t(100), std::size_t(4096), std::size_t(65535), std::size_t(65536),
                             std::size_t(1) << 20, (std::size_t(3) << 20) + 7}) {
        INFO(size);
        auto *p = static_cast<unsigned char *>(halide_malloc(nullptr, size));
        REQUIRE(p != nullptr);
        CHECK(reinterpret_cast<std::uintptr_t>(p) % 128 == 0);
        std::memset(p, 0xab, size);  // AddressSanitizer (the sanitized build) checks the extent
        CHECK(p[size - 1] == 0xab);
        halide_free(nullptr, p);
    }
    halide_free(nullptr, nullptr);  // as free(nullptr)
}

#if !defined(__SANITIZE_ADDRESS__)
// On a thread of its own, whose cache starts empty (Catch's assertions run one thread at a time).
TEST_CASE("a freed scratch block serves the thread's next request of about its size", "[scratch]") {
    std::thread([] {
        const std::size_t before = cached_scratch_bytes();
        CHECK(before == 0);  // CHECK, not REQUIRE: nothing may throw out of the thread
        auto *p = static_cast<unsigned char *>(halide_malloc(nullptr, 1 << 20));
        if (!p) {
            FAIL_CHECK("halide_malloc returned null");
            return;
        }
        p[12345] = 42;
        halide_free(nullptr, p);
        CHECK(cached_scratch_bytes() == before + (1 << 20));
        // A slightly smaller request gets the same block back, as it was left.
        auto *q = static_cast<unsigned char *>(halide_malloc(nullptr, (1 << 20) - 1000));
        CHECK(q == p);
        CHECK(q[12345] == 42);
        CHECK(cached_scratch_bytes() == before);
        halide_free(nullptr, q);
        // A request under half the block's size does not take it.
        void *small = halide_malloc(nullptr, 256 << 10);
        CHECK(small != q);
        CHECK(cached_scratch_bytes() == before + (1 << 20));
        halide_free(nullptr, small);
        // Small blocks go back to malloc.
        const std::size_t cached = cached_scratch_bytes();
        halide_free(nullptr, halide_malloc(nullptr, 1000));
        CHECK(cached_scratch_bytes() == cached);
        // A block larger than a thread keeps goes back at once.
        halide_free(nullptr, halide_malloc(nullptr, std::size_t(65) << 20));
        CHECK(cached_scratch_bytes() == cached);
        // At most 8 blocks: freeing ten leaves the last eight.
        void *blocks[10];
        for (auto &b : blocks) b = halide_malloc(nullptr, 128 << 10);
        for (auto *b : blocks) halide_free(nullptr, b);
        CHECK(cached_scratch_bytes() == std::size_t(8) * (128 << 10));
    }).join();
}

TEST_CASE("a scratch block freed by another thread joins that thread's blocks", "[scratch]") {
    // Allocated on a fresh thread too, so that no block this thread keeps serves it.
    void *p = nullptr;
    std::thread([&] { p = halide_malloc(nullptr, 2 << 20); }).join();
    REQUIRE(p != nullptr);
    const std::size_t here = cached_scratch_bytes();
    std::size_t there = 0;
    std::thread([&] {
        halide_free(nullptr, p);
        there = cached_scratch_bytes();
    }).join();  // and that thread's exit frees it
    CHECK(there == std::size_t(2) << 20);
    CHECK(cached_scratch_bytes() == here);
}
#endif
