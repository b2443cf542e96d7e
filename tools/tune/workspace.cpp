#include "workspace.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <unistd.h>

namespace reluforge::tune {

std::string ProblemShape::text() const { return fmt::format("{}x{}x{}", M, K, N); }

namespace {
// Rows and columns of a slot's tensor; a mask's columns in elements (Tensor::mask takes those).
std::pair<std::int64_t, std::int64_t> tensor_extents(const ArgSlot &slot, const ProblemShape &s) {
    const std::int64_t rows = slot.rank == 2 ? extent_value(slot.rows, s.M, s.N, s.K) : 1;
    const std::int64_t cols = slot.cols == Extent::mask_N ? s.N
                            : slot.cols == Extent::mask_K ? s.K
                                                          : extent_value(slot.cols, s.M, s.N, s.K);
    return {rows, cols};
}
}  // namespace

ProblemShape parse_shape(const std::string &text, const KernelSpec &spec) {
    const Shape layer = parse_layer_shape(text);
    const ProblemShape s{layer.m, layer.k, layer.n};
    constexpr std::int64_t kMaxExtent = std::int64_t(1) << 31;
    double bytes = 0;
    for (const ArgSlot &slot : kernel_signature(spec)) {
        const auto [rows, cols] = tensor_extents(slot, s);
        const double elements = double(rows) * double(cols);
        if (elements >= double(kMaxExtent)) {
            throw Error(ErrorCode::bad_argument, fmt::format("shape '{}': tensor '{}' would have {:.3g} elements; "
                                                             "kernels take at most 2^31", text, slot.name, elements));
        }
        bytes += elements * 4;
    }
    const double memory = double(::sysconf(_SC_PHYS_PAGES)) * double(::sysconf(_SC_PAGESIZE));
    if (memory > 0 && bytes > memory / 2) {
        throw Error(ErrorCode::bad_argument, fmt::format("shape '{}' needs {:.1f} GiB of tensors; this machine has "
                                                         "{:.1f} GiB of memory", text, bytes / (1 << 30), memory / (1 << 30)));
    }
    return s;
}

Workspace::Workspace(const KernelSpec &spec, ProblemShape s, unsigned seed) {
    std::mt19937 gen(seed);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    for (const ArgSlot &slot : kernel_signature(spec)) {
        const auto [rows, cols] = tensor_extents(slot, s);
        Buffer &b = buffers_.emplace_back();
        b.output = slot.output;
        if (slot.is_mask) {
            const std::int64_t row_bytes = mask_row_bytes(cols);
            b.bytes.resize(std::size_t(rows * row_bytes));
            for (auto &v : b.bytes) v = std::uint8_t(gen());
            tensors_.push_back(Tensor::mask(b.bytes.data(), rows, cols));
        } else if (slot.dtype == DType::i32) {
            b.bytes.resize(std::size_t(cols) * 4);
            tensors_.push_back(Tensor::vector(reinterpret_cast<std::int32_t *>(b.bytes.data()), cols));
        } else {
            b.floats.resize(std::size_t(rows * cols));
            if (!slot.output) {
                for (auto &v : b.floats) v = uniform(gen);
            }
            tensors_.push_back(slot.rank == 2 ? Tensor::matrix(b.floats.data(), rows, cols)
                                              : Tensor::vector(b.floats.data(), cols));
        }
    }
}

std::vector<std::uint8_t> Workspace::outputs() const {
    std::vector<std::uint8_t> out;
    for (const auto &b : buffers_) {
        if (!b.output) continue;
        const auto *p = b.floats.empty() ? b.bytes.data() : reinterpret_cast<const std::uint8_t *>(b.floats.data());
        const std::size_t n = b.floats.empty() ? b.bytes.size() : b.floats.size() * 4;
        out.insert(out.end(), p, p + n);
    }
    return out;
}

double measure(const KernelHandle &k, const Workspace &w, int reps, double give_up, int *runs) {
    using Clock = std::chrono::steady_clock;
    run_kernel(k, w.tensors());  // warm-up
    std::vector<double> times;
    for (int r = 0; r < reps; r++) {
        const auto t0 = Clock::now();
        run_kernel(k, w.tensors());
        times.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        if (r == 2 && *std::min_element(times.begin(), times.end()) >= give_up) break;
    }
    *runs = int(times.size());
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

}  // namespace reluforge::tune
