// The JIT's section memory: code and data of a kernel object stay within reach of 32-bit
// PC-relative references however the rest of the address space fills up between allocations
// (as the CUDA driver's large reservations do), and the memory is usable as asked.
#include "near_memory.h"

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <vector>
#include <sys/mman.h>

using reluforge::jit::NearMemoryMapper;
using Purpose = llvm::SectionMemoryManager::AllocationPurpose;
using llvm::sys::Memory;

namespace {

std::int64_t distance(const llvm::sys::MemoryBlock &a, const llvm::sys::MemoryBlock &b) {
    const auto x = reinterpret_cast<std::intptr_t>(a.base()), y = reinterpret_cast<std::intptr_t>(b.base());
    return x > y ? x - y : y - x;
}

}  // namespace

TEST_CASE("JIT code and data stay within 2 GiB of each other between large foreign reservations", "[jit]") {
    NearMemoryMapper mapper;
    std::error_code ec;
    const unsigned rw = Memory::MF_READ | Memory::MF_WRITE;
    llvm::sys::MemoryBlock code = mapper.allocateMappedMemory(Purpose::Code, 100, nullptr, rw, ec);
    REQUIRE(!ec);
    // What a GPU driver does between kernels: reserve far more than 2 GiB of address space. With
    // each block mapped wherever the system chooses, these blocks end up tens of GiB apart.
    const std::size_t foreign_bytes = std::size_t(3) << 30;
    std::vector<void *> foreign;
    llvm::sys::MemoryBlock data, farthest = code;
    for (int i = 0; i < 16; i++) {
        void *p = ::mmap(nullptr, foreign_bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        REQUIRE(p != MAP_FAILED);
        foreign.push_back(p);
        llvm::sys::MemoryBlock block = mapper.allocateMappedMemory(Purpose::RWData, 1 << 20, nullptr, rw, ec);
        REQUIRE(!ec);
        if (i == 0) data = block;
        if (distance(code, block) >= distance(code, farthest)) farthest = block;
    }
    llvm::sys::MemoryBlock rodata = mapper.allocateMappedMemory(Purpose::ROData, 70000, &code, rw, ec);
    REQUIRE(!ec);
    for (void *p : foreign) ::munmap(p, foreign_bytes);

    CHECK(distance(code, farthest) < (std::int64_t(1) << 31));
    CHECK(distance(code, data) < (std::int64_t(1) << 31));
    CHECK(distance(code, rodata) < (std::int64_t(1) << 31));
    CHECK(code.allocatedSize() >= 100);
    CHECK(data.allocatedSize() >= (1 << 20));
    CHECK(rodata.allocatedSize() >= 70000);
    // Blocks do not overlap, and are writable as asked.
    CHECK(distance(code, data) >= std::int64_t(code.allocatedSize()));
    std::memset(data.base(), 0x5A, 5000);
    std::memset(rodata.base(), 0x11, 70000);
    CHECK(static_cast<unsigned char *>(data.base())[4999] == 0x5A);
    // Code becomes executable and read-only, as the memory manager finalizes it.
    CHECK(!mapper.protectMappedMemory(code, Memory::MF_READ | Memory::MF_EXEC));
    CHECK(!mapper.releaseMappedMemory(data));
    CHECK(data.base() == nullptr);
}

TEST_CASE("a JIT section larger than the reserved range gets a range of its own", "[jit]") {
    NearMemoryMapper mapper(std::size_t(1) << 20);
    std::error_code ec;
    const unsigned rw = Memory::MF_READ | Memory::MF_WRITE;
    llvm::sys::MemoryBlock small = mapper.allocateMappedMemory(Purpose::Code, 4096, nullptr, rw, ec);
    REQUIRE(!ec);
    llvm::sys::MemoryBlock big = mapper.allocateMappedMemory(Purpose::RWData, std::size_t(3) << 20, nullptr, rw, ec);
    REQUIRE(!ec);
    REQUIRE(big.allocatedSize() >= (std::size_t(3) << 20));
    static_cast<char *>(big.base())[big.allocatedSize() - 1] = 1;  // the whole block is mapped
    CHECK(distance(small, big) >= 4096);
}
