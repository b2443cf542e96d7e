#include "reluforge/linear.h"

#include "argument_check.h"
#include "backward_row_blocks.h"
#include "host_scratch.h"
#include "named_arguments.h"

#include "reluforge/cuda.h"
#include "reluforge/opencl.h"

#include "reluforge/error.h"
#include "reluforge/registry.h"
#include "reluforge/signature.h"

#include <fmt/format.h>

#include <cstdint>
#include <vector>

namespace reluforge {
namespace {

KernelSpec make(Op op, const Activation &act, bool bias, WeightLayout w, Save save, DType dt) {
    KernelSpec s;
    s.op = op;
    s.act = act;
    s.bias = bias;
    s.weight = w;
    s.save = save;
    s.dtype = dt;
    validate(s);
    return s;
}

// dZ scratch for backward() when the caller does not want dZ back: dy's dtype, on dy's device,
// [M, N] as the checked arguments bind them (so nothing is allocated for a call that is refused).
Tensor scratch_like(const Tensor &dy, const BoundExtents &extents) {
    const std::int64_t rows = extents.at(Extent::M), cols = extents.at(Extent::N);
    const auto bytes = static_cast<size_t>(rows * cols * element_size(dy.dtype));
    if (dy.device == Device::cuda) {
        thread_local cuda::DeviceBuffer device_buffer;
        if (device_buffer.size() < bytes) device_buffer = cuda::DeviceBuffer(bytes);
        return Tensor::matrix(device_buffer.data(), dy.dtype, rows, cols).on(Device::cuda);
    }
    if (dy.device == Device::opencl) {
        thread_local opencl::DeviceBuffer device_buffer;
        if (device_buffer.size() < bytes) device_buffer = opencl::DeviceBuffer(bytes);
        return Tensor::matrix(device_buffer.data(), dy.dtype, rows, cols).on(Device::opencl);
    }
    thread_local HostScratch buffer;
    return Tensor::matrix(buffer.get(bytes), dy.dtype, rows, cols);
}

}  // namespace

Linear::Linear(Activation act, bool bias, WeightLayout weight, std::optional<Save> save, DType dtype)
    : act_(act), bias_(bias), weight_(weight), save_(save.value_or(default_save(act))), dtype_(dtype) {
    for (int k = 0; k < 4; k++) forward_specs_[size_t(k)] = make_forward_spec(k & 2, k & 1);
}

KernelSpec Linear::make_forward_spec(bool save_aux, bool counts) const {
    // Saving Y needs nothing beyond Y itself: the plain forward kernel serves.
    const Save save = save_aux && save_ != Save::y ? save_ : Save::none;
    KernelSpec s = make(Op::forward, act_, bias_, weight_, save, dtype_);
    s.counts = counts;
    return s;
}

KernelSpec Linear::forward_spec(bool save_aux, bool counts) const {
    return forward_specs_[size_t(2 * int(save_aux) + int(counts))];
}

KernelSpec Linear::activation_backward_spec(bool db) const {
    return make(Op::activation_backward, act_, db, weight_, save_, dtype_);
}

KernelSpec Linear::backward_data_spec() const {
    return make(Op::backward_data, Activation{Act::identity}, false, weight_, Save::none, dtype_);
}

KernelSpec Linear::chained_backward_data_spec(const Linear &prev, bool db_prev) const {
    return make(Op::backward_data, prev.act_, db_prev, weight_, prev.save_, dtype_);
}

KernelSpec Linear::backward_weight_spec(bool db) const {
    return make(Op::backward_weight, Activation{Act::identity}, db, weight_, Save::none, dtype_);
}

std::vector<KernelSpec> Linear::kernel_specs(const Linear *prev) const {
    if (weight_ == WeightLayout::packed) return {forward_spec()};
    const bool identity = act_.kind == Act::identity;
    std::vector<KernelSpec> specs{forward_spec(), backward_data_spec(),
                                  backward_weight_spec(identity && bias_)};
    if (!identity) specs.push_back(activation_backward_spec(bias_));
    if (prev) specs.push_back(chained_backward_data_spec(*prev, prev->bias_));
    return specs;
}

void Linear::forward(const ForwardArgs &a) const {
    if (a.aux.given() && save_ == Save::y && a.aux.data != a.y.data) {
        throw Error(ErrorCode::bad_argument,
                    "bad argument: this layer saves Y for backward; pass y itself as aux, or no aux");
    }
    const KernelSpec spec = forward_spec(a.aux.given(), a.counts.given());
    run_kernel(spec, in_signature_order(spec, {{"x", a.x}, {"w", a.w}, {"b", a.b}, {"slope", a.slope}, {"y", a.y},
                                               {"z", a.aux}, {"mask", a.aux}, {"counts", a.counts}}));
}

namespace {
void refuse_packed_backward(WeightLayout w) {
    if (w != WeightLayout::packed) return;
    throw Error(ErrorCode::bad_argument,
                "bad argument: this layer's W is packed (WeightLayout::packed), which only forward kernels "
                "read; run backward through a layer of the layout W was packed from (kn or nk)");
}
}  // namespace

void Linear::backward(const BackwardArgs &a) const {
    refuse_packed_backward(weight_);
    const bool identity = act_.kind == Act::identity;
    if (a.db.given() && !bias_) {
        throw Error(ErrorCode::bad_argument, "bad argument: db given for a layer without bias");
    }
    if (const std::int64_t rows = backward_block_rows(a)) {
        const BackwardKernels kernels{activation_backward_spec(a.db.given()), backward_data_spec(), backward_weight_spec(false)};
        if (backward_by_row_blocks(kernels, a, rows)) return;
    }
    Tensor dz = a.dy;
    if (!identity) {
        const KernelSpec spec = activation_backward_spec(a.db.given());
        auto args = [&] {
            return in_signature_order(spec, {{"dy", a.dy}, {"y", a.aux}, {"z", a.aux}, {"mask", a.aux},
                                             {"slope", a.slope}, {"dz", dz}, {"db", a.db}, {"dslope", a.dslope}});
        };
        if (a.dz.given()) {
            dz = a.dz;
        } else {
            dz = scratch_like(a.dy, check_arguments(spec, args(), "dz"));
        }
        run_kernel(spec, args());
    }
    // dW before dX, as backward_chained runs them. AMD EPYC Zen 4 (family 25 model 17, peak 115
    // GFLOP/s), 1 thread, relu from Z, the two orders alternating in one process: 512^3 5.49-5.64
    // -> 5.20-5.29 ms, 1024x128x1024 5.91-6.31 -> 5.82-6.19; 1024^3, 2048^3, 64x1024x4096,
    // 4096x1024x64 and 256x4096x1024 within 1-2% either way.
    if (a.dw.given()) {
        const KernelSpec spec = backward_weight_spec(identity && a.db.given());
        run_kernel(spec, in_signature_order(spec, {{"x", a.x}, {"dz", dz}, {"dw", a.dw}, {"db", a.db}}));
    }
    if (a.dx.given()) run_kernel(backward_data_spec(), {dz, a.w, a.dx});
}

std::int64_t Linear::backward_block_rows(const BackwardArgs &a) const { return reluforge::backward_block_rows(*this, a); }

void Linear::backward_chained(const Linear &prev, const ChainedBackwardArgs &a) const {
    refuse_packed_backward(weight_);
    if (a.dw.given()) {
        const KernelSpec spec = backward_weight_spec(a.db.given());
        run_kernel(spec, in_signature_order(spec, {{"x", a.x}, {"dz", a.dz}, {"dw", a.dw}, {"db", a.db}}));
    }
    const KernelSpec spec = chained_backward_data_spec(prev, a.db_prev.given());
    run_kernel(spec, in_signature_order(spec, {{"dz", a.dz}, {"w", a.w}, {"prev_aux", a.prev_aux},
                                               {"prev_slope", a.prev_slope}, {"dz_prev", a.dz_prev}, {"dx", a.dz_prev},
                                               {"db_prev", a.db_prev}, {"dslope_prev", a.dslope_prev}}));
}

}  // namespace reluforge
