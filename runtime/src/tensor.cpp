#include "reluforge/tensor.h"

namespace reluforge {
namespace {

Tensor make_matrix(void *p, DType dtype, std::int64_t rows, std::int64_t cols, std::int64_t ld) {
    Tensor t;
    t.data = p;
    t.dtype = dtype;
    t.rank = 2;
    t.shape[0] = rows;
    t.shape[1] = cols;
    t.stride[0] = ld != 0 ? ld : cols;  // a negative ld stays, for run_kernel to refuse
    t.stride[1] = 1;
    return t;
}

Tensor make_vector(void *p, DType dtype, std::int64_t n) {
    Tensor t;
    t.data = p;
    t.dtype = dtype;
    t.rank = 1;
    t.shape[0] = n;
    t.stride[0] = 1;
    return t;
}

}  // namespace

Tensor Tensor::matrix(float *p, std::int64_t rows, std::int64_t cols, std::int64_t ld) {
    return make_matrix(p, DType::f32, rows, cols, ld);
}
Tensor Tensor::matrix(const float *p, std::int64_t rows, std::int64_t cols, std::int64_t ld) {
    return make_matrix(const_cast<float *>(p), DType::f32, rows, cols, ld);
}
Tensor Tensor::vector(float *p, std::int64_t n) { return make_vector(p, DType::f32, n); }
Tensor Tensor::vector(const float *p, std::int64_t n) {
    return make_vector(const_cast<float *>(p), DType::f32, n);
}
Tensor Tensor::vector(std::int32_t *p, std::int64_t n) { return make_vector(p, DType::i32, n); }
Tensor Tensor::mask(std::uint8_t *p, std::int64_t rows, std::int64_t cols, std::int64_t row_bytes) {
    return make_matrix(p, DType::u8, rows, mask_bytes_per_row(cols),
                       row_bytes != 0 ? row_bytes : mask_row_bytes(cols));
}
Tensor Tensor::mask(const std::uint8_t *p, std::int64_t rows, std::int64_t cols,
                    std::int64_t row_bytes) {
    return mask(const_cast<std::uint8_t *>(p), rows, cols, row_bytes);
}

Tensor Tensor::matrix(void *p, DType dtype, std::int64_t rows, std::int64_t cols, std::int64_t ld) {
    return make_matrix(p, dtype, rows, cols, ld);
}
Tensor Tensor::vector(void *p, DType dtype, std::int64_t n) { return make_vector(p, dtype, n); }

const char *to_string(Device d) {
    switch (d) {
    case Device::cpu: return "cpu";
    case Device::cuda: return "cuda";
    case Device::opencl: return "opencl";
    }
    return "invalid";
}

std::int64_t element_size(DType d) {
    switch (d) {
    case DType::f32:
    case DType::i32: return 4;
    case DType::f16: return 2;
    case DType::u8: return 1;
    }
    return 1;
}

}  // namespace reluforge
