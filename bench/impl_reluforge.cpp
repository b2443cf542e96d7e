// reluforge: fused forward (Y only, like the others); backward (dX, dW, db) from what the layer's
// training forward saves by default (a bit mask for the relu family, Z otherwise), as
// Linear::backward runs it: activation-backward (dZ, db) + backward-data + backward-weight.
// Kernels come from the JIT (compiled once, outside the timed region). reluforge_prepacked: the
// forward with W packed beforehand.
#include "problem.h"

#include <chrono>
#include <cstdint>

namespace bench {
namespace {

using namespace reluforge;

class Reluforge : public Impl {
public:
    explicit Reluforge(Problem &p)
        : layer_(p.act.act, true, WeightLayout::kn), z_layer_(p.act.act, true, WeightLayout::kn, Save::z) {
        // Compile (or load) every kernel now, and leave Z for every implementation's backward.
        if (layer_.save() == Save::mask) mask_.resize(static_cast<size_t>(p.s.M * mask_row_bytes(p.s.N)));
        z_layer_.forward(forward_args(p, Tensor::matrix(p.z.data(), p.s.M, p.s.N)));
        layer_.forward(forward_args(p, aux(p)));
        forward(p);
        backward(p);
    }
    std::string name() const override { return "reluforge"; }
    void forward(Problem &p) override { layer_.forward(forward_args(p, {})); }
    void backward(Problem &p) override { layer_.backward(backward_args(p)); }

    std::vector<std::pair<std::string, double>> backward_parts(Problem &p) override {
        const BackwardArgs a = backward_args(p);
        const Tensor dz = Tensor::matrix(p.dz.data(), p.s.M, p.s.N);
        std::vector<std::pair<std::string, double>> parts;
        auto timed = [&](const char *name, auto &&run) {
            auto t0 = std::chrono::steady_clock::now();
            run();
            parts.emplace_back(name, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        };
        const bool prelu = p.act.act.kind == Act::prelu;
        timed("activation_backward", [&] {
            std::vector<Tensor> args{a.dy, a.aux};
            if (prelu) args.push_back(a.slope);
            args.push_back(dz);
            args.push_back(a.db);
            if (prelu) args.push_back(a.dslope);
            run_kernel(layer_.activation_backward_spec(true), args);
        });
        timed("backward_data", [&] { run_kernel(layer_.backward_data_spec(), {dz, a.w, a.dx}); });
        timed("backward_weight", [&] { run_kernel(layer_.backward_weight_spec(false), {a.x, dz, a.dw}); });
        return parts;
    }

private:
    // The aux the layer saves: Z in the problem's z, or the bit mask here.
    Tensor aux(Problem &p) {
        if (layer_.save() != Save::mask) return Tensor::matrix(p.z.data(), p.s.M, p.s.N);
        return Tensor::mask(mask_.data(), p.s.M, p.s.N);
    }

    ForwardArgs forward_args(Problem &p, Tensor aux) {
        ForwardArgs a;
        a.x = Tensor::matrix(p.x.data(), p.s.M, p.s.K);
        a.w = Tensor::matrix(p.w.data(), p.s.K, p.s.N);
        a.b = Tensor::vector(p.b.data(), p.s.N);
        if (p.act.act.kind == Act::prelu) a.slope = Tensor::vector(&p.slope, 1);
        a.y = Tensor::matrix(p.y.data(), p.s.M, p.s.N);
        a.aux = aux;
        return a;
    }

    // dZ is not asked for: the layer's scratch holds it.
    BackwardArgs backward_args(Problem &p) {
        BackwardArgs a;
        a.dy = Tensor::matrix(p.dy.data(), p.s.M, p.s.N);
        a.aux = aux(p);
        a.x = Tensor::matrix(p.x.data(), p.s.M, p.s.K);
        a.w = Tensor::matrix(p.w.data(), p.s.K, p.s.N);
        a.dx = Tensor::matrix(p.dx.data(), p.s.M, p.s.K);
        a.dw = Tensor::matrix(p.dw.data(), p.s.K, p.s.N);
        a.db = Tensor::vector(p.db.data(), p.s.N);
        if (p.act.act.kind == Act::prelu) {
            a.slope = Tensor::vector(&p.slope, 1);
            a.dslope = Tensor::vector(&dslope_, 1);
        }
        return a;
    }

    Linear layer_, z_layer_;
    std::vector<std::uint8_t> mask_;
    float dslope_ = 0;
};

// Forward with W packed once (packed_weights.h), outside the timed region: the counterpart of
// oneDNN's prepacked weights.
class ReluforgePrepacked : public Impl {
public:
    explicit ReluforgePrepacked(Problem &p)
        : layer_(p.act.act, true, WeightLayout::packed),
          packed_(Tensor::matrix(p.w.data(), p.s.K, p.s.N), WeightLayout::kn) {
        forward(p);
    }
    std::string name() const override { return "reluforge_prepacked"; }
    void forward(Problem &p) override {
        ForwardArgs a;
        a.x = Tensor::matrix(p.x.data(), p.s.M, p.s.K);
        a.w = packed_.tensor();
        a.b = Tensor::vector(p.b.data(), p.s.N);
        if (p.act.act.kind == Act::prelu) a.slope = Tensor::vector(&p.slope, 1);
        a.y = Tensor::matrix(p.y.data(), p.s.M, p.s.N);
        layer_.forward(a);
    }
    void backward(Problem &) override {}
    bool has_backward() const override { return false; }

private:
    Linear layer_;
    PackedWeights packed_;
};

}  // namespace

std::unique_ptr<Impl> make_reluforge(Problem &p) { return std::make_unique<Reluforge>(p); }
std::unique_ptr<Impl> make_reluforge_prepacked(Problem &p) { return std::make_unique<ReluforgePrepacked>(p); }

}  // namespace bench
