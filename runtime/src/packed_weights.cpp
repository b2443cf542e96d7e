#include "reluforge/packed_weights.h"

#include "reluforge/error.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace reluforge {
namespace {

[[noreturn]] void refuse(ErrorCode code, const std::string &what) {
    throw Error(code, fmt::format("{}: pack_weights: {}", to_string(code), what));
}

void check_host_matrix(const Tensor &t, const char *name) {
    if (t.rank != 2) refuse(ErrorCode::shape_mismatch, fmt::format("{} has rank {}; it must be a matrix", name, t.rank));
    if (t.data == nullptr) refuse(ErrorCode::null_data, fmt::format("{} has a null data pointer", name));
    if (t.device != Device::cpu) refuse(ErrorCode::wrong_device, fmt::format("{} is a {} tensor; packing runs on host memory", name, to_string(t.device)));
    if (t.dtype != DType::f32 && t.dtype != DType::f16) refuse(ErrorCode::bad_dtype, fmt::format("{} has dtype {}, not f32 or f16", name, to_string(t.dtype)));
    if (t.shape[0] < 1 || t.shape[1] < 1) refuse(ErrorCode::shape_mismatch, fmt::format("{} is [{},{}]: extents must be >= 1", name, t.shape[0], t.shape[1]));
    if (t.stride[1] != 1 || t.stride[0] < t.shape[1]) {
        refuse(ErrorCode::bad_layout, fmt::format("{} has strides ({},{}): rows must be contiguous and at least {} apart", name, t.stride[0], t.stride[1], t.shape[1]));
    }
}

std::pair<std::uintptr_t, std::uintptr_t> bytes_of(const Tensor &t) {
    const auto begin = reinterpret_cast<std::uintptr_t>(t.data);
    const auto elems = (t.shape[0] - 1) * t.stride[0] + t.shape[1];
    return {begin, begin + std::uintptr_t(elems * element_size(t.dtype))};
}

}  // namespace

void pack_weights(const Tensor &w, WeightLayout layout, const Tensor &packed) {
    if (layout == WeightLayout::packed) refuse(ErrorCode::bad_argument, "w must be given as kn ([K,N]) or nk ([N,K]), not packed");
    check_host_matrix(w, "w");
    check_host_matrix(packed, "packed");
    if (packed.dtype != w.dtype) refuse(ErrorCode::bad_dtype, fmt::format("packed has dtype {} but w has {}", to_string(packed.dtype), to_string(w.dtype)));
    const bool kn = layout == WeightLayout::kn;
    const std::int64_t K = kn ? w.shape[0] : w.shape[1], N = kn ? w.shape[1] : w.shape[0];
    if (packed.shape[0] != packed_weight_rows(N) || packed.shape[1] != packed_weight_cols(K)) {
        refuse(ErrorCode::shape_mismatch,
               fmt::format("packed is [{},{}] but a {} w of K = {}, N = {} packs into [ceil(N/16),16K] = [{},{}]",
                           packed.shape[0], packed.shape[1], to_string(layout), K, N, packed_weight_rows(N), packed_weight_cols(K)));
    }
    const auto [wb, we] = bytes_of(w);
    const auto [pb, pe] = bytes_of(packed);
    if (wb < pe && pb < we) refuse(ErrorCode::aliasing, "packed overlaps w");

    const auto size = std::size_t(element_size(w.dtype));
    const auto *src = static_cast<const unsigned char *>(w.data);
    auto *dst = static_cast<unsigned char *>(packed.data);
    for (std::int64_t p = 0; p < packed.shape[0]; p++) {
        unsigned char *panel = dst + std::size_t(p * packed.stride[0]) * size;
        const std::int64_t first = p * kWeightPanel, width = std::min(kWeightPanel, N - first);
        for (std::int64_t k = 0; k < K; k++) {
            unsigned char *row = panel + std::size_t(k * kWeightPanel) * size;
            if (kn) {
                std::memcpy(row, src + std::size_t(k * w.stride[0] + first) * size, std::size_t(width) * size);
            } else {
                for (std::int64_t c = 0; c < width; c++) {
                    std::memcpy(row + std::size_t(c) * size, src + std::size_t((first + c) * w.stride[0] + k) * size, size);
                }
            }
            std::memset(row + std::size_t(width) * size, 0, std::size_t(kWeightPanel - width) * size);
        }
    }
}

PackedWeights::PackedWeights(const Tensor &w, WeightLayout layout) {
    if (w.rank == 2 && w.dtype != DType::f32) refuse(ErrorCode::bad_dtype, fmt::format("PackedWeights holds f32; w has dtype {}", to_string(w.dtype)));
    if (layout != WeightLayout::packed) {
        check_host_matrix(w, "w");
        k_ = layout == WeightLayout::kn ? w.shape[0] : w.shape[1];
        n_ = layout == WeightLayout::kn ? w.shape[1] : w.shape[0];
        lines_.resize(std::size_t(packed_weight_rows(n_) * k_));
    }
    pack_weights(w, layout, tensor());
}

Tensor PackedWeights::tensor() const {
    // The kernels only read it: a const view.
    const float *data = lines_.empty() ? nullptr : lines_.front().v;
    return Tensor::matrix(data, packed_weight_rows(n_), packed_weight_cols(k_));
}

}  // namespace reluforge
