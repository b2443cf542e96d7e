#include "backward_row_blocks.h"

#include "argument_check.h"
#include "host_scratch.h"
#include "named_arguments.h"

#include "reluforge/registry.h"

#include <algorithm>
#include <cstddef>

namespace reluforge {
namespace {

// Where blocks pay, measured on Intel Xeon model 167 (1 thread; scratch A/B of the two orders,
// caches flushed between calls as the bench's alternation does; relu from the mask unless said):
// 16384x32x128 4.61 -> 3.19 ms (gelu 5.27 -> 3.92, silu 5.07 -> 4.22, elu 4.81 -> 3.82),
// 8192x64x256 6.48 -> 4.81 (elu 6.62 -> 5.61), 16384x64x64 4.06 -> 3.44, 16384x128x128
// 11.9 -> 9.8, 8192x256x128 10.3 -> 8.8, 8192x32x1024 18.7 -> 14.6, 65536x16x32 6.48 -> 3.90.
// They lost where dW is larger (1024x128x1024 4.41 -> 4.60, 4096x1024x64 9.46 -> 10.7, 1024^3
// 26.9 -> 29.0; 4096x128x512 even) or the reduction deep against N (8192x256x64 6.0 -> 6.2).
constexpr std::int64_t kMostWeightElements = 32768;  // dW of 128 KiB
// A block's dZ and X together: 768 KiB, inside the 1 MiB L2 of AMD Zen 4 and 5 (2 MiB on the
// Intel CPU, where blocks of 512 to 2048 rows of 16384x32x128 ran alike).
constexpr std::int64_t kBlockElements = 196608;

std::int64_t inner_extent(const BackwardArgs &a) {
    if (a.x.rank == 2) return a.x.shape[1];
    if (a.dx.rank == 2) return a.dx.shape[1];
    return 0;
}

Tensor rows_of(const Tensor &t, std::int64_t first, std::int64_t count) {
    if (t.rank != 2) return t;  // vectors are per column
    Tensor r = t;
    r.data = static_cast<char *>(t.data) + first * t.stride[0] * element_size(t.dtype);
    r.shape[0] = count;
    return r;
}

// dst += partial, both float32 and of dst's shape; partial's rows are packed.
void add_into(const Tensor &dst, const float *partial) {
    if (!dst.given()) return;
    const std::int64_t rows = dst.rank == 2 ? dst.shape[0] : 1, cols = dst.rank == 2 ? dst.shape[1] : dst.shape[0];
    for (std::int64_t r = 0; r < rows; r++) {
        float *out = static_cast<float *>(dst.data) + r * (dst.rank == 2 ? dst.stride[0] : 0);
        const float *in = partial + r * cols;
        for (std::int64_t c = 0; c < cols; c++) out[c] += in[c];
    }
}

std::int64_t elements_of(const Tensor &t) { return !t.given() ? 0 : t.rank == 2 ? t.shape[0] * t.shape[1] : t.shape[0]; }

// Packed float32 space for a block's dZ and the partial sums of the blocks after the first.
struct BlockScratch {
    float *dz, *dw, *db, *dslope;
};
BlockScratch block_scratch(std::int64_t dz_elements, const BackwardArgs &a) {
    const auto padded = [](std::int64_t n) { return (n + 15) / 16 * 16; };  // 64-byte pieces
    const std::int64_t sizes[] = {padded(dz_elements), padded(elements_of(a.dw)), padded(elements_of(a.db)),
                                  padded(elements_of(a.dslope))};
    thread_local HostScratch scratch;
    auto *p = static_cast<float *>(scratch.get(std::size_t(sizes[0] + sizes[1] + sizes[2] + sizes[3]) * sizeof(float)));
    return {p, p + sizes[0], p + sizes[0] + sizes[1], p + sizes[0] + sizes[1] + sizes[2]};
}

Tensor like(const Tensor &t, float *p) {
    if (!t.given()) return t;
    return t.rank == 2 ? Tensor::matrix(p, t.shape[0], t.shape[1]) : Tensor::vector(p, t.shape[0]);
}

}  // namespace

std::int64_t backward_block_rows(const Linear &layer, const BackwardArgs &a) {
    if (layer.activation().kind == Act::identity || layer.dtype() != DType::f32) return 0;
    if (a.dy.rank != 2 || a.dy.device != Device::cpu || num_threads() != 1) return 0;
    // On 2 threads blocks lost (16384x32x128 3.33 -> 3.64 ms, 8192x64x256 3.69 -> 4.75; blocks
    // of 2048 to 4096 rows even): each block's kernels split their rows across the threads.
    const std::int64_t M = a.dy.shape[0], N = a.dy.shape[1], K = inner_extent(a);
    if (K < 1 || N < 1 || K * N > kMostWeightElements || K > 2 * N) return 0;
    std::int64_t rows = 16;
    while (rows * 2 * (K + N) <= kBlockElements) rows *= 2;
    return M >= 2 * rows ? rows : 0;
}

bool backward_by_row_blocks(const BackwardKernels &kernels, const BackwardArgs &a, std::int64_t block_rows) {
    const bool user_dz = a.dz.given();
    const auto activation_args = [&](const BackwardArgs &b, const Tensor &dz, const Tensor &db, const Tensor &dslope) {
        return in_signature_order(kernels.activation_backward, {{"dy", b.dy}, {"y", b.aux}, {"z", b.aux}, {"mask", b.aux},
                                                                {"slope", b.slope}, {"dz", dz}, {"db", db}, {"dslope", dslope}});
    };
    const auto weight_args = [&](const Tensor &x, const Tensor &dz, const Tensor &dw) {
        return in_signature_order(kernels.backward_weight, {{"x", x}, {"dz", dz}, {"dw", dw}});
    };
    // Every kernel's checks over the whole matrices first (dZ left out where it is scratch), and
    // the extents the three bind must agree.
    const auto act = check_arguments(kernels.activation_backward, activation_args(a, a.dz, a.db, a.dslope),
                                     user_dz ? "" : "dz");
    const auto agrees = [&](const BoundExtents &e) {
        for (Extent x : {Extent::M, Extent::N}) {
            if (e.has(x) && e.at(x) != act.at(x)) return false;
        }
        return true;
    };
    std::int64_t K = -1;
    if (a.dx.given()) {
        const auto data = check_arguments(kernels.backward_data, {a.dz, a.w, a.dx}, "dz");
        if (!agrees(data)) return false;
        K = data.at(Extent::K);
    }
    if (a.dw.given()) {
        const auto weight = check_arguments(kernels.backward_weight, weight_args(a.x, a.dz, a.dw), "dz");
        if (!agrees(weight) || (K >= 0 && weight.at(Extent::K) != K)) return false;
    }
    // Later blocks read inputs after earlier blocks wrote the outputs.
    for (const Tensor *out : {&a.dx, &a.dw, &a.db, &a.dslope}) {
        for (const Tensor *in : {&a.dy, &a.aux, &a.x, &a.w, &a.slope}) {
            if (tensors_overlap(*out, *in)) return false;
        }
    }

    const std::int64_t M = act.at(Extent::M), N = act.at(Extent::N);
    const BlockScratch scratch = block_scratch(user_dz ? 0 : block_rows * N, a);
    for (std::int64_t first = 0; first < M; first += block_rows) {
        const std::int64_t rows = std::min(block_rows, M - first);
        const bool later = first > 0;  // later blocks sum into scratch, then into the outputs
        BackwardArgs b = a;
        b.dy = rows_of(a.dy, first, rows);
        b.aux = rows_of(a.aux, first, rows);
        const Tensor dz = user_dz ? rows_of(a.dz, first, rows) : Tensor::matrix(scratch.dz, rows, N);
        const Tensor db = later ? like(a.db, scratch.db) : a.db, dslope = later ? like(a.dslope, scratch.dslope) : a.dslope;
        run_kernel(kernels.activation_backward, activation_args(b, dz, db, dslope));
        if (a.dx.given()) run_kernel(kernels.backward_data, {dz, a.w, rows_of(a.dx, first, rows)});
        if (a.dw.given()) {
            run_kernel(kernels.backward_weight, weight_args(rows_of(a.x, first, rows), dz, later ? like(a.dw, scratch.dw) : a.dw));
        }
        if (later) {
            add_into(a.dw, scratch.dw);
            add_into(a.db, scratch.db);
            add_into(a.dslope, scratch.dslope);
        }
    }
    return true;
}

}  // namespace reluforge
