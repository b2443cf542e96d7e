// reluforge: fused forward (Y only, like the others); backward from the Z a training forward saved: = activation-backward (dZ, db) + backward-data
// + backward-weight. Kernels come from the JIT (compiled once, outside the timed region).
#include "problem.h"

namespace bench {
namespace {

using namespace reluforge;

class Reluforge : public Impl {
public:
    explicit Reluforge(Problem &p) : layer_(p.act.act, true, WeightLayout::kn, Save::z) {
        // Compile (or load) every kernel now, and leave Z for every implementation's backward.
        run_forward(p, true);
        forward(p);
        backward(p);
    }
    std::string name() const override { return "reluforge"; }
    void forward(Problem &p) override { run_forward(p, false); }
    void run_forward(Problem &p, bool save_z) {
        ForwardArgs a;
        a.x = Tensor::matrix(p.x.data(), p.s.M, p.s.K);
        a.w = Tensor::matrix(p.w.data(), p.s.K, p.s.N);
        a.b = Tensor::vector(p.b.data(), p.s.N);
        if (p.act.act.kind == Act::prelu) a.slope = Tensor::vector(&p.slope, 1);
        a.y = Tensor::matrix(p.y.data(), p.s.M, p.s.N);
        if (save_z) a.aux = Tensor::matrix(p.z.data(), p.s.M, p.s.N);
        layer_.forward(a);
    }
    void backward(Problem &p) override {
        BackwardArgs a;
        a.dy = Tensor::matrix(p.dy.data(), p.s.M, p.s.N);
        a.aux = Tensor::matrix(p.z.data(), p.s.M, p.s.N);
        a.x = Tensor::matrix(p.x.data(), p.s.M, p.s.K);
        a.w = Tensor::matrix(p.w.data(), p.s.K, p.s.N);
        a.dx = Tensor::matrix(p.dx.data(), p.s.M, p.s.K);
        a.dw = Tensor::matrix(p.dw.data(), p.s.K, p.s.N);
        a.db = Tensor::vector(p.db.data(), p.s.N);
        a.dz = Tensor::matrix(p.dz.data(), p.s.M, p.s.N);
        if (p.act.act.kind == Act::prelu) {
            a.slope = Tensor::vector(&p.slope, 1);
            a.dslope = Tensor::vector(&dslope_, 1);
        }
        layer_.backward(a);
    }

private:
    Linear layer_;
    float dslope_ = 0;
};

}  // namespace

std::unique_ptr<Impl> make_reluforge(Problem &p) { return std::make_unique<Reluforge>(p); }

}  // namespace bench
