// A thread's reusable host memory for the runtime's own temporaries (Linear's dZ, a row block's
// partial sums), aligned to a cache line: the kernels' vector loads from a 16-byte-aligned dZ
// split lines. It grows to the largest request and keeps that.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>

namespace reluforge {

class HostScratch {
public:
    void *get(std::size_t bytes) {
        if (size_ < bytes) {
            const std::size_t rounded = (bytes + 63) / 64 * 64;
            data_.reset(std::aligned_alloc(64, rounded));
            if (!data_) {
                size_ = 0;
                throw std::bad_alloc();
            }
            size_ = rounded;
        }
        return data_.get();
    }

private:
    std::unique_ptr<void, decltype(&std::free)> data_{nullptr, &std::free};
    std::size_t size_ = 0;
};

}  // namespace reluforge
