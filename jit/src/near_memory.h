// Memory for JIT-linked kernels, all taken from one reserved address range.
//
// An object's code reaches its own data (Halide's CUDA module state in .bss, constant pools)
// through 32-bit PC-relative relocations, and RuntimeDyld places an object's code and data in
// separate mappings. LLVM's default mapper lets the kernel choose where each goes; once a CUDA
// driver has reserved its large address ranges, code and data of one object could land more
// than 2 GiB apart, and a release build of LLVM truncates the offset without a word. Carving every
// section out of one reservation keeps each object within reach of itself.
#pragma once

#include <llvm/ExecutionEngine/SectionMemoryManager.h>

#include <cstddef>
#include <mutex>
#include <vector>

namespace reluforge::jit {

class NearMemoryMapper final : public llvm::SectionMemoryManager::MemoryMapper {
public:
    // Reserves address space (no memory) `arena_bytes` at a time, on first use.
    explicit NearMemoryMapper(std::size_t arena_bytes = std::size_t(1) << 30);
    ~NearMemoryMapper() override;
    NearMemoryMapper(const NearMemoryMapper &) = delete;
    NearMemoryMapper &operator=(const NearMemoryMapper &) = delete;

    llvm::sys::MemoryBlock allocateMappedMemory(llvm::SectionMemoryManager::AllocationPurpose purpose,
                                                std::size_t bytes, const llvm::sys::MemoryBlock *near,
                                                unsigned flags, std::error_code &ec) override;
    std::error_code protectMappedMemory(const llvm::sys::MemoryBlock &block, unsigned flags) override;
    // Returns the pages to the system; the addresses are not handed out again.
    std::error_code releaseMappedMemory(llvm::sys::MemoryBlock &block) override;

private:
    struct Arena {
        char *base;
        std::size_t size;
    };
    std::mutex mutex_;
    std::size_t arena_bytes_;
    std::vector<Arena> arenas_;  // the newest last; allocation bumps through it
    std::size_t used_ = 0;       // bytes handed out of the newest arena
};

}  // namespace reluforge::jit
