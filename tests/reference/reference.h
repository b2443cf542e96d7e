// An independent double-precision reference: the formulas of docs/numerics.md written plainly, and the
// fused layer as triple loops. Nothing here calls reluforge's kernels or its Halide code.
#pragma once

#include "reluforge/spec.h"

#include <cstdint>
#include <vector>

namespace ref {

using reluforge::Activation;

double act(const Activation &a, double z, double slope = 0.25);
double grad(const Activation &a, double z, double slope = 0.25);
// Second derivative by central differences of grad(), for tolerances only.
double grad2(const Activation &a, double z, double slope = 0.25);
bool mask_bit(const Activation &a, double z);
// Where column n's bit lives in its mask row, written out from docs/numerics.md rather than taken
// from the runtime: groups of 128 columns, 16 bytes each, n at bit (n % 128) / 16 of byte
// 16 * (n / 128) + n % 16.
inline std::int64_t mask_byte(std::int64_t n) { return n / 128 * 16 + n % 16; }
inline int mask_shift(std::int64_t n) { return int(n % 128 / 16); }

struct Mat {
    int rows = 0, cols = 0;
    std::vector<float> v;
    Mat() = default;
    Mat(int r, int c, float fill = 0.0f) : rows(r), cols(c), v(size_t(r) * c, fill) {}
    float &operator()(int r, int c) { return v[size_t(r) * cols + c]; }
    float operator()(int r, int c) const { return v[size_t(r) * cols + c]; }
};

struct MatD {
    int rows = 0, cols = 0;
    std::vector<double> v;
    MatD(int r, int c) : rows(r), cols(c), v(size_t(r) * c, 0.0) {}
    double &operator()(int r, int c) { return v[size_t(r) * cols + c]; }
    double operator()(int r, int c) const { return v[size_t(r) * cols + c]; }
};

// A · B in double (optionally with A or B transposed), and the same with absolute values (mag).
MatD matmul(const Mat &a, const Mat &b, bool ta, bool tb, MatD *mag = nullptr);

// docs/numerics.md's bound for a length-k reduction: 4 (k + 2) 2^-24 mag + 1e-30.
double reduction_bound(int k, double mag);

// Fills with uniform values in [lo, hi) from a fixed seed.
void fill_uniform(Mat &m, unsigned seed, float lo = -1.0f, float hi = 1.0f);

}  // namespace ref
