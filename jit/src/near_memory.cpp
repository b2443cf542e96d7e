#include "near_memory.h"

#include <llvm/Support/Memory.h>

#include <algorithm>
#include <cerrno>
#include <sys/mman.h>
#include <unistd.h>

namespace reluforge::jit {

NearMemoryMapper::NearMemoryMapper(std::size_t arena_bytes) : arena_bytes_(arena_bytes) {}

NearMemoryMapper::~NearMemoryMapper() {
    for (const Arena &a : arenas_) ::munmap(a.base, a.size);
}

llvm::sys::MemoryBlock NearMemoryMapper::allocateMappedMemory(llvm::SectionMemoryManager::AllocationPurpose,
                                                              std::size_t bytes, const llvm::sys::MemoryBlock *,
                                                              unsigned flags, std::error_code &ec) {
    ec.clear();
    if (bytes == 0) return {};
    const std::size_t page = std::size_t(::sysconf(_SC_PAGESIZE));
    bytes = (bytes + page - 1) / page * page;
    std::lock_guard lock(mutex_);
    if (arenas_.empty() || used_ + bytes > arenas_.back().size) {
        // A new reservation, asked for right after the last one so that objects split across
        // the two still reach (the kernel may place it elsewhere; an arena holds thousands of
        // kernels, so this is rare).
        const std::size_t size = std::max(arena_bytes_, bytes);
        void *hint = arenas_.empty() ? nullptr : arenas_.back().base + arenas_.back().size;
        void *p = ::mmap(hint, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) {
            ec = std::error_code(errno, std::generic_category());
            return {};
        }
        arenas_.push_back({static_cast<char *>(p), size});
        used_ = 0;
    }
    llvm::sys::MemoryBlock block(arenas_.back().base + used_, bytes);
    if ((ec = llvm::sys::Memory::protectMappedMemory(block, flags))) return {};
    used_ += bytes;
    return block;
}

std::error_code NearMemoryMapper::protectMappedMemory(const llvm::sys::MemoryBlock &block, unsigned flags) {
    return llvm::sys::Memory::protectMappedMemory(block, flags);
}

std::error_code NearMemoryMapper::releaseMappedMemory(llvm::sys::MemoryBlock &block) {
    if (block.base() == nullptr) return {};
    ::madvise(block.base(), block.allocatedSize(), MADV_DONTNEED);
    ::mprotect(block.base(), block.allocatedSize(), PROT_NONE);
    block = llvm::sys::MemoryBlock();
    return {};
}

}  // namespace reluforge::jit
