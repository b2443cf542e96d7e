// Linear: one fused layer, Y = act(X·W + b), with its backward pass. It names the kernels it needs
// by spec and runs them through the registry; tensors are checked before any kernel runs.
#pragma once

#include "reluforge/spec.h"
#include "reluforge/tensor.h"

#include <array>
#include <optional>
#include <vector>

namespace reluforge {

struct ForwardArgs {
    Tensor x, w, b, slope;  // inputs: [M,K], [K,N] or [N,K], [N] if the layer has bias, prelu's slope
    Tensor y;               // output [M,N]
    Tensor aux;             // optional output: Z [M,N], Y is y itself, or the bit mask, per save
    Tensor counts;          // optional output, i32 [N]: rows with act'(z) != 0 in each column
};

struct BackwardArgs {
    Tensor dy, aux, x, w, slope;  // inputs; aux is what forward saved (y itself for save=y)
    Tensor dx, dw, db, dslope;    // outputs; any of them may be left out
    Tensor dz;                    // optional output: dZ = dY ⊙ act'; scratch memory otherwise
};

// For chained layers: this layer's dZ is known (from the loss, or from the layer above), and the
// backward-data kernel finishes with the previous layer's act' so it yields that layer's dZ.
struct ChainedBackwardArgs {
    Tensor dz, x, w;               // this layer: dZ [M,N], input X [M,K], weight
    Tensor prev_aux, prev_slope;   // the previous layer (whose output is X): its saved aux, slope
    Tensor dw, db;                 // this layer's gradients (db optional)
    Tensor dz_prev, db_prev, dslope_prev;  // the previous layer's dZ, and optionally db, dslope
};

class Linear {
public:
    explicit Linear(Activation act = {}, bool bias = true, WeightLayout weight = WeightLayout::kn,
                    std::optional<Save> save = std::nullopt, DType dtype = DType::f32);

    const Activation &activation() const { return act_; }
    bool bias() const { return bias_; }
    WeightLayout weight_layout() const { return weight_; }
    Save save() const { return save_; }
    DType dtype() const { return dtype_; }

    KernelSpec forward_spec(bool save_aux = true, bool counts = false) const;
    KernelSpec activation_backward_spec(bool db) const;
    KernelSpec backward_data_spec() const;                              // plain dX = dZ·Wᵀ
    KernelSpec chained_backward_data_spec(const Linear &prev, bool db_prev) const;
    KernelSpec backward_weight_spec(bool db) const;
    // Every spec a training step of this layer uses (with prev: the chained backward too); a
    // layer of packed weights runs forward only.
    std::vector<KernelSpec> kernel_specs(const Linear *prev = nullptr) const;

    void forward(const ForwardArgs &a) const;
    void backward(const BackwardArgs &a) const;
    // Rows backward(a) takes at a time, or 0 for all at once. On one CPU thread, where dZ of a
    // block of rows fits in L2 beside its X and dW is small, it runs the activation pass and both
    // products block by block; dW, db and dslope are then sums of the blocks' sums, added in row
    // order (docs/numerics.md).
    std::int64_t backward_block_rows(const BackwardArgs &a) const;
    void backward_chained(const Linear &prev, const ChainedBackwardArgs &a) const;

private:
    KernelSpec make_forward_spec(bool save_aux, bool counts) const;

    Activation act_;
    bool bias_;
    WeightLayout weight_;
    Save save_;
    DType dtype_;
    // forward_spec(save_aux, counts) at [2 * save_aux + counts], validated once: a forward call
    // then builds no spec text.
    std::array<KernelSpec, 4> forward_specs_;
};

}  // namespace reluforge
