// reluforge: fused forward (Y only, like the others); backward from the Z a training forward saved: = activation-backward (dZ, db) + backward-data
// + backward-weight. Kernels come from the JIT (compiled once, outside the timed region).
#include "problem.h"

#include <chrono>

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
    void backward(Problem &p) override { layer_.backward(backward_args(p)); }

    std::vector<std::pair<std::string, double>> backward_parts(Problem &p) override {
        const BackwardArgs a = backward_args(p);
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
            args.push_back(a.dz);
            args.push_back(a.db);
            if (prelu) args.push_back(a.dslope);
            run_kernel(layer_.activation_backward_spec(true), args);
        });
        timed("backward_data", [&] { run_kernel(layer_.backward_data_spec(), {a.dz, a.w, a.dx}); });
        timed("backward_weight", [&] { run_kernel(layer_.backward_weight_spec(false), {a.x, a.dz, a.dw}); });
        return parts;
    }

private:
    BackwardArgs backward_args(Problem &p) {
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
        return a;
    }

    Linear layer_;
    float dslope_ = 0;
};

}  // namespace

std::unique_ptr<Impl> make_reluforge(Problem &p) { return std::make_unique<Reluforge>(p); }

}  // namespace bench
