// The bit-mask format, and backward from the mask equal to backward from Z, NaN included.
#include "support/cases.h"

#include "reluforge/reluforge.h"
#include "reference/reference.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>

using namespace reluforge;

TEST_CASE("forward writes the documented bit mask and backward from it equals backward from Z", "[mask]") {
    // K = 1, b = 0 and power-of-two weights: Z = x * w exactly, so every bit is decided.
    // -NaN: x86's default NaN (0 · inf) has the sign bit set.
    const float specials[] = {0.0f, -0.0f, 6.0f, -6.0f, 3.0f, NAN, INFINITY, -INFINITY, 1e-40f, -1e-40f, 5.9999995f, std::copysign(NAN, -1.0f)};
    const int special_count = int(sizeof specials / sizeof specials[0]);
    for (const char *text : {"relu", "leaky_relu(slope=0.01)", "relu6"}) {
        const Activation act = parse_activation(text);
        for (int N : {1, 7, 8, 9, 16, 64, 65, 128, 130, 144, 272}) {
            const int M = 19;
            std::vector<float> x(M), w(static_cast<size_t>(N)), b(static_cast<size_t>(N), 0.0f), y(static_cast<size_t>(M * N)), z(static_cast<size_t>(M * N));
            std::mt19937 gen{static_cast<unsigned>(N)};
            std::uniform_real_distribution<float> d(-8, 8);
            for (int m = 0; m < M; m++) x[size_t(m)] = m < special_count ? specials[m] : d(gen);
            for (int n = 0; n < N; n++) w[size_t(n)] = std::ldexp(n % 3 ? 1.0f : -1.0f, n % 4 - 1);
            for (int m = 0; m < M; m++) {
                for (int n = 0; n < N; n++) z[size_t(m) * N + n] = x[size_t(m)] * w[size_t(n)];
            }
            const int64_t row_bytes = mask_row_bytes(N) + 64;  // wider than needed: still valid
            std::vector<uint8_t> mask(size_t(row_bytes * M), 0x5A);

            Linear layer(act, true, WeightLayout::kn, Save::mask);
            ForwardArgs f;
            f.x = Tensor::matrix(x.data(), M, 1);
            f.w = Tensor::matrix(w.data(), 1, N);
            f.b = Tensor::vector(b.data(), N);
            f.y = Tensor::matrix(y.data(), M, N);
            f.aux = Tensor::mask(mask.data(), M, N, row_bytes);
            layer.forward(f);

            int wrong_bits = 0, touched_padding = 0;
            for (int m = 0; m < M; m++) {
                for (int n = 0; n < N; n++) {
                    const bool bit = (mask[size_t(m * row_bytes + ref::mask_byte(n))] >> ref::mask_shift(n)) & 1;
                    wrong_bits += bit != ref::mask_bit(act, z[size_t(m) * N + n]);
                }
                const int used = int(mask_bytes_per_row(N));
                for (int n = N; n < used * 8; n++) wrong_bits += (mask[size_t(m * row_bytes + ref::mask_byte(n))] >> ref::mask_shift(n)) & 1;
                for (int64_t byte = used; byte < row_bytes; byte++) touched_padding += mask[size_t(m * row_bytes + byte)] != 0x5A;
            }
            INFO(text << " N=" << N);
            CHECK(wrong_bits == 0);
            CHECK(touched_padding == 0);

            // dZ from the mask (layer A's kernel) and from Z (layer B's): identical bits.
            std::vector<float> dy(static_cast<size_t>(M * N)), dz_mask(dy.size()), dz_z(dy.size()), db(static_cast<size_t>(N));
            for (auto &v : dy) v = d(gen);
            BackwardArgs from_mask;
            from_mask.dy = Tensor::matrix(dy.data(), M, N);
            from_mask.aux = Tensor::mask(mask.data(), M, N, row_bytes);
            from_mask.dz = Tensor::matrix(dz_mask.data(), M, N);
            from_mask.db = Tensor::vector(db.data(), N);
            layer.backward(from_mask);
            Linear with_z(act, false, WeightLayout::nk, Save::z);
            BackwardArgs from_z;
            from_z.dy = from_mask.dy;
            from_z.aux = Tensor::matrix(z.data(), M, N);
            from_z.dz = Tensor::matrix(dz_z.data(), M, N);
            with_z.backward(from_z);
            CHECK(std::memcmp(dz_mask.data(), dz_z.data(), dz_z.size() * sizeof(float)) == 0);
        }
    }
}
