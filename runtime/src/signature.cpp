#include "reluforge/signature.h"

#include "reluforge/packed_weights.h"
#include "reluforge/tensor.h"

namespace reluforge {
namespace {

ArgSlot matrix(const char *name, bool out, Extent rows, Extent cols, DType dt = DType::f32) {
    return {name, out, dt, 2, rows, cols, false};
}
ArgSlot vec(const char *name, bool out, Extent n, DType dt = DType::f32) {
    return {name, out, dt, 1, Extent::one, n, false};
}
ArgSlot mask(const char *name, bool out, Extent cols) {
    return {name, out, DType::u8, 2, Extent::M, cols, true};
}
ArgSlot weight(const char *name, bool out, WeightLayout w, DType dt) {
    switch (w) {
    case WeightLayout::kn: return matrix(name, out, Extent::K, Extent::N, dt);
    case WeightLayout::nk: return matrix(name, out, Extent::N, Extent::K, dt);
    case WeightLayout::packed: return matrix(name, out, Extent::panels_N, Extent::panel_K, dt);
    }
    return matrix(name, out, Extent::K, Extent::N, dt);
}
Extent slope_extent(const Activation &a, Extent columns) {
    return a.slopes == PreluSlopes::shared ? Extent::one : columns;
}

// The saved tensor a backward op reads: Z or Y as a matrix, or the bit mask.
ArgSlot aux(const char *name, Save s, Extent cols, Extent mask_cols, DType dt) {
    return s == Save::mask ? mask(name, false, mask_cols) : matrix(name, false, Extent::M, cols, dt);
}

}  // namespace

std::vector<ArgSlot> kernel_signature(const KernelSpec &s) {
    const bool prelu = s.act.kind == Act::prelu;
    // Matrices are stored in the spec's dtype; vectors (bias, slopes and their gradients) are
    // always f32, counts i32, masks u8.
    const DType dt = s.dtype;
    std::vector<ArgSlot> a;
    a.reserve(10);  // the most any op takes
    switch (s.op) {
    case Op::forward:
        a.push_back(matrix("x", false, Extent::M, Extent::K, dt));
        a.push_back(weight("w", false, s.weight, dt));
        if (s.bias) a.push_back(vec("b", false, Extent::N));
        if (prelu) a.push_back(vec("slope", false, slope_extent(s.act, Extent::N)));
        a.push_back(matrix("y", true, Extent::M, Extent::N, dt));
        if (s.save == Save::z) a.push_back(matrix("z", true, Extent::M, Extent::N, dt));
        if (s.save == Save::mask) a.push_back(mask("mask", true, Extent::mask_N));
        if (s.counts) a.push_back(vec("counts", true, Extent::N, DType::i32));
        break;
    case Op::activation_backward:
        a.push_back(matrix("dy", false, Extent::M, Extent::N, dt));
        a.push_back(aux(s.save == Save::y ? "y" : s.save == Save::z ? "z" : "mask", s.save,
                        Extent::N, Extent::mask_N, dt));
        if (prelu) a.push_back(vec("slope", false, slope_extent(s.act, Extent::N)));
        a.push_back(matrix("dz", true, Extent::M, Extent::N, dt));
        if (s.bias) a.push_back(vec("db", true, Extent::N));
        if (prelu) a.push_back(vec("dslope", true, slope_extent(s.act, Extent::N)));
        break;
    case Op::backward_data: {
        const bool chained = s.act.kind != Act::identity;
        a.push_back(matrix("dz", false, Extent::M, Extent::N, dt));
        a.push_back(weight("w", false, s.weight, dt));
        if (chained) a.push_back(aux("prev_aux", s.save, Extent::K, Extent::mask_K, dt));
        if (prelu) a.push_back(vec("prev_slope", false, slope_extent(s.act, Extent::K)));
        a.push_back(matrix(chained ? "dz_prev" : "dx", true, Extent::M, Extent::K, dt));
        if (s.bias) a.push_back(vec("db_prev", true, Extent::K));
        if (prelu) a.push_back(vec("dslope_prev", true, slope_extent(s.act, Extent::K)));
        break;
    }
    case Op::backward_weight:
        a.push_back(matrix("x", false, Extent::M, Extent::K, dt));
        a.push_back(matrix("dz", false, Extent::M, Extent::N, dt));
        a.push_back(weight("dw", true, s.weight, dt));
        if (s.bias) a.push_back(vec("db", true, Extent::N));
        break;
    }
    return a;
}

std::string shape_text(const ArgSlot &s) {
    return s.rank == 1 ? "[" + std::string(to_string(s.cols)) + "]"
                       : "[" + std::string(to_string(s.rows)) + "," + to_string(s.cols) + "]";
}

Shape call_shape(const KernelSpec &spec, const Shape &layer) {
    // run_kernel binds each extent from the tensors that have it (argument_check.h).
    bool has[3] = {};
    for (const ArgSlot &slot : kernel_signature(spec)) {
        for (Extent e : {slot.rank == 2 ? slot.rows : slot.cols, slot.cols}) {
            has[0] |= e == Extent::M;
            has[1] |= e == Extent::N;
            has[2] |= e == Extent::K;
        }
    }
    return Shape{has[0] ? layer.m : 0, has[1] ? layer.n : 0, has[2] ? layer.k : 0};
}

std::int64_t extent_value(Extent e, std::int64_t M, std::int64_t N, std::int64_t K) {
    switch (e) {
    case Extent::one: return 1;
    case Extent::M: return M;
    case Extent::N: return N;
    case Extent::K: return K;
    case Extent::mask_N: return mask_bytes_per_row(N);
    case Extent::mask_K: return mask_bytes_per_row(K);
    case Extent::panels_N: return packed_weight_rows(N);
    case Extent::panel_K: return packed_weight_cols(K);
    }
    return 0;
}

bool reads_weight_transposed(const KernelSpec &spec) {
    return (spec.op == Op::forward && spec.weight == WeightLayout::nk) ||
           (spec.op == Op::backward_data && spec.weight == WeightLayout::kn);
}

bool has_dot_products(const KernelSpec &spec) {
    return reads_weight_transposed(spec) || (spec.op == Op::forward && spec.weight == WeightLayout::kn);
}

const char *to_string(Extent e) {
    switch (e) {
    case Extent::one: return "1";
    case Extent::M: return "M";
    case Extent::N: return "N";
    case Extent::K: return "K";
    case Extent::mask_N: return "16*ceil(N/128)";
    case Extent::mask_K: return "16*ceil(K/128)";
    case Extent::panels_N: return "ceil(N/16)";
    case Extent::panel_K: return "16K";
    }
    return "?";
}

}  // namespace reluforge
