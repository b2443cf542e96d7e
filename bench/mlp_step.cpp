#include "mlp_step.h"

#include <cmath>
#include <random>

namespace bench {

using namespace reluforge;

MlpProblem::MlpProblem(int batch_, std::vector<int> widths_, Activation act_)
    : batch(batch_), widths(std::move(widths_)), act(act_) {
    std::mt19937 gen(7);
    std::uniform_real_distribution<float> d(-1.0f, 1.0f);
    auto filled = [&](size_t n, float scale) {
        std::vector<float> v(n);
        for (auto &e : v) e = d(gen) * scale;
        return v;
    };
    const int L = layers();
    h.push_back(filled(size_t(batch) * widths[0], 1.0f));
    for (int l = 0; l < L; l++) {
        const size_t in = size_t(widths[size_t(l)]), out = size_t(widths[size_t(l) + 1]);
        w.push_back(filled(in * out, 1.0f / std::sqrt(float(in))));
        b.push_back(filled(out, 0.1f));
        dw.emplace_back(in * out);
        db.emplace_back(out);
        h.emplace_back(size_t(batch) * out);
        z.emplace_back(size_t(batch) * out);
        dz.push_back(l == L - 1 ? filled(size_t(batch) * out, 0.01f) : std::vector<float>(size_t(batch) * out));
    }
}

double MlpProblem::step_flops() const {
    double f = 0;
    for (int l = 0; l < layers(); l++) {
        const double mm = 2.0 * batch * widths[size_t(l)] * widths[size_t(l) + 1];
        f += mm * (l == 0 ? 2 : 3);  // forward, dW, and dX above the input layer
    }
    return f;
}

namespace {

// Forward saving what backward needs (the bit mask for relu, Z otherwise); backward with the
// chained kernels: each layer's backward-data finishes the layer below's dZ and db.
class ReluforgeMlp : public MlpImpl {
public:
    explicit ReluforgeMlp(MlpProblem &p) {
        for (int l = 0; l < p.layers(); l++) {
            const bool top = l == p.layers() - 1;
            layers_.emplace_back(top ? Activation{Act::identity} : p.act, true, WeightLayout::kn);
            const Linear &layer = layers_.back();
            masks_.emplace_back(layer.save() == Save::mask ? size_t(mask_row_bytes(p.widths[size_t(l) + 1]) * p.batch) : 0);
        }
        step(p);  // compiles (or loads) every kernel
    }
    std::string name() const override { return "reluforge"; }

    void step(MlpProblem &p) override {
        const int L = p.layers(), B = p.batch;
        for (int l = 0; l < L; l++) {
            const int in = p.widths[size_t(l)], out = p.widths[size_t(l) + 1];
            ForwardArgs a;
            a.x = Tensor::matrix(p.h[size_t(l)].data(), B, in);
            a.w = Tensor::matrix(p.w[size_t(l)].data(), in, out);
            a.b = Tensor::vector(p.b[size_t(l)].data(), out);
            a.y = Tensor::matrix(p.h[size_t(l) + 1].data(), B, out);
            a.aux = aux(p, l);
            layers_[size_t(l)].forward(a);
        }
        for (int l = L - 1; l >= 1; l--) {
            const int in = p.widths[size_t(l)], out = p.widths[size_t(l) + 1];
            ChainedBackwardArgs a;
            a.dz = Tensor::matrix(p.dz[size_t(l)].data(), B, out);
            a.x = Tensor::matrix(p.h[size_t(l)].data(), B, in);
            a.w = Tensor::matrix(p.w[size_t(l)].data(), in, out);
            a.prev_aux = aux(p, l - 1);
            a.dw = Tensor::matrix(p.dw[size_t(l)].data(), in, out);
            if (l == L - 1) a.db = Tensor::vector(p.db[size_t(l)].data(), out);  // lower layers': db_prev
            a.dz_prev = Tensor::matrix(p.dz[size_t(l) - 1].data(), B, in);
            a.db_prev = Tensor::vector(p.db[size_t(l) - 1].data(), in);
            layers_[size_t(l)].backward_chained(layers_[size_t(l) - 1], a);
        }
        const int in = p.widths[0], out = p.widths[1];
        run_kernel(layers_[0].backward_weight_spec(false), {Tensor::matrix(p.h[0].data(), B, in),
                                                           Tensor::matrix(p.dz[0].data(), B, out),
                                                           Tensor::matrix(p.dw[0].data(), in, out)});
    }

private:
    Tensor aux(MlpProblem &p, int l) {
        const int out = p.widths[size_t(l) + 1];
        switch (layers_[size_t(l)].save()) {
        case Save::mask: return Tensor::mask(masks_[size_t(l)].data(), p.batch, out);
        case Save::z: return Tensor::matrix(p.z[size_t(l)].data(), p.batch, out);
        case Save::y: return Tensor::matrix(p.h[size_t(l) + 1].data(), p.batch, out);
        case Save::none: break;
        }
        return {};
    }
    std::vector<Linear> layers_;
    std::vector<std::vector<std::uint8_t>> masks_;
};

}  // namespace

std::unique_ptr<MlpImpl> make_reluforge_mlp(MlpProblem &p) { return std::make_unique<ReluforgeMlp>(p); }

}  // namespace bench
