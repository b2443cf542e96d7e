// Packed weights: W copied once into the order forward kernels read it, for a layer run many times
// with the same W (inference, or every step between weight updates). Forward kernels with
// weight=packed then read W in place instead of gathering each panel of its columns on every call.
//
// Format: W's columns in panels of kWeightPanel (16 floats, a cache line); panel p holds columns
// 16p .. 16p+15 for every k, row k of the panel contiguous. A packed W is a row-major matrix of
// [ceil(N/16), 16K] elements: element (p, 16k + c) is W(k, 16p + c) for a [K,N] W (W(16p + c, k)
// for an [N,K] one). Columns past N in the last panel are zero. Forward kernels read whole panels
// where N is a multiple of 16; other N run correctly but slower (the last panel's columns are
// gathered).
#pragma once

#include "reluforge/tensor.h"

#include <cstdint>
#include <vector>

namespace reluforge {

constexpr std::int64_t kWeightPanel = 16;

constexpr std::int64_t packed_weight_rows(std::int64_t n) { return (n + kWeightPanel - 1) / kWeightPanel; }
constexpr std::int64_t packed_weight_cols(std::int64_t k) { return k * kWeightPanel; }

// Packs w ([K,N] for WeightLayout::kn, [N,K] for nk; f32 or f16, host memory) into packed, a
// [packed_weight_rows(N), packed_weight_cols(K)] matrix of w's dtype. Throws Error naming the
// problem (and writes nothing) for a wrong layout, dtype, shape, stride, device or an overlap.
void pack_weights(const Tensor &w, WeightLayout layout, const Tensor &packed);

// A packed copy that owns its memory (f32, aligned to a cache line).
class PackedWeights {
public:
    PackedWeights(const Tensor &w, WeightLayout layout);
    // The view a weight=packed kernel takes as its w.
    Tensor tensor() const;
    std::int64_t k() const { return k_; }
    std::int64_t n() const { return n_; }

private:
    struct alignas(64) Line {
        float v[kWeightPanel];
    };
    std::vector<Line> lines_;
    std::int64_t k_ = 0, n_ = 0;
};

}  // namespace reluforge
