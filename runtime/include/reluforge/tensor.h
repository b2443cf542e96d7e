// Tensor: a non-owning view of a vector or row-major matrix. Strides are in elements; the
// innermost stride must be 1 (kernels vectorize along rows). A default-constructed Tensor means
// "not given" for optional arguments.
#pragma once

#include "reluforge/spec.h"

#include <cstdint>

namespace reluforge {

enum class Device { cpu, cuda, opencl };

struct Tensor {
    void *data = nullptr;
    DType dtype = DType::f32;
    int rank = 0;                   // 0 = not given, 1 = vector, 2 = matrix
    std::int64_t shape[2] = {0, 0}; // rank 1 uses shape[0]
    std::int64_t stride[2] = {0, 0};
    Device device = Device::cpu;

    bool given() const { return rank != 0 || data != nullptr; }

    // ld: the row stride in elements; 0 means cols (packed rows). A negative ld is kept, and
    // run_kernel refuses it.
    static Tensor matrix(float *p, std::int64_t rows, std::int64_t cols, std::int64_t ld = 0);
    static Tensor matrix(const float *p, std::int64_t rows, std::int64_t cols, std::int64_t ld = 0);
    static Tensor vector(float *p, std::int64_t n);
    static Tensor vector(const float *p, std::int64_t n);
    static Tensor vector(std::int32_t *p, std::int64_t n);
    // A bit mask over an [rows, cols] matrix, in the format below.
    static Tensor mask(std::uint8_t *p, std::int64_t rows, std::int64_t cols,
                       std::int64_t row_bytes = 0);
    static Tensor mask(const std::uint8_t *p, std::int64_t rows, std::int64_t cols,
                       std::int64_t row_bytes = 0);
    // Any dtype, for f16 storage (IEEE binary16 bits) and for device memory, whose pointers
    // are CUdeviceptr values (CUDA) or cl_mem handles (OpenCL) cast to void *.
    static Tensor matrix(void *p, DType dtype, std::int64_t rows, std::int64_t cols, std::int64_t ld = 0);
    static Tensor vector(void *p, DType dtype, std::int64_t n);

    // The same view, declared to live on device d. GPU kernels take only their device's tensors
    // and CPU kernels only host ones; run_kernel refuses a mix with Error(wrong_device).
    Tensor on(Device d) const {
        Tensor t = *this;
        t.device = d;
        return t;
    }
};

const char *to_string(Device d);

// Bit mask format (identical on every target): one bit per element of [M,N], the bit being the
// "1 bit" predicate of the activation (relu: !(z <= 0); leaky_relu: z > 0; relu6: !(z <= 0 || z >=
// 6)). Row m starts at byte m * row_bytes, row_bytes a multiple of 64. A row's columns come in
// groups of 128, each group 16 bytes: column n is bit (n % 128) / 16 of byte 16 * (n / 128) + n %
// 16 (mask_bit_byte, mask_bit_shift). Sixteen adjacent columns are then one bit of sixteen
// adjacent bytes, so a kernel writes and reads a vector of columns with whole-vector loads (a
// byte per 8 columns made each lane gather 8 values). A mask tensor is a u8 matrix of shape [M,
// 16 * ceil(N/128)] with stride[0] = row_bytes; bytes past that are never touched and bits of
// columns past N are zero.
constexpr std::int64_t mask_bytes_per_row(std::int64_t cols) { return (cols + 127) / 128 * 16; }
constexpr std::int64_t mask_row_bytes(std::int64_t cols) {
    return (mask_bytes_per_row(cols) + 63) / 64 * 64;
}
constexpr std::int64_t mask_bit_byte(std::int64_t col) { return col / 128 * 16 + col % 16; }
constexpr int mask_bit_shift(std::int64_t col) { return int(col % 128 / 16); }

std::int64_t element_size(DType d);

}  // namespace reluforge
