// oneDNN's best recipe for one MLP training step: forward as matmul with bias and the activation
// as a post-op (relu, keeping Y for its backward), or matmul with bias to Z then an eltwise
// forward (activations whose backward needs Z); backward per layer as eltwise backward, matmuls
// dW = Xᵀ·dZ and dX = dZ·Wᵀ, and db = 1ᵀ·dZ as a matmul (its reduction primitive runs reference
// code).
#include "mlp_step.h"
#include "onednn_util.h"

namespace bench {
namespace {

class OneDnnMlp : public MlpImpl {
public:
    OneDnnMlp(MlpProblem &p, algorithm alg, float alpha) {
        const memory::dim B = p.batch;
        const int L = p.layers();
        // relu's backward can run from Y (the post-op's output); the others need Z.
        const bool from_dst = alg == algorithm::eltwise_relu && alpha == 0.0f;
        ones_.assign(size_t(B), 1.0f);
        ones_m_ = memory(md(1, B), eng_, ones_.data());
        for (int l = 0; l < L; l++) {
            const memory::dim in = p.widths[size_t(l)], out = p.widths[size_t(l) + 1];
            const bool hidden = l < L - 1;
            Layer y;
            y.x = memory(md(B, in), eng_, p.h[size_t(l)].data());
            y.w = memory(md(in, out), eng_, p.w[size_t(l)].data());
            y.b = memory(md(1, out), eng_, p.b[size_t(l)].data());
            y.y = memory(md(B, out), eng_, p.h[size_t(l) + 1].data());
            y.z = memory(md(B, out), eng_, p.z[size_t(l)].data());
            y.dz = memory(md(B, out), eng_, p.dz[size_t(l)].data());
            y.dw = memory(md(in, out), eng_, p.dw[size_t(l)].data());
            y.db = memory(md(1, out), eng_, p.db[size_t(l)].data());
            primitive_attr attr;
            y.post_op = hidden && from_dst;
            if (y.post_op) {
                post_ops po;
                po.append_eltwise(1.0f, alg, alpha, 0.0f);
                attr.set_post_ops(po);
            }
            y.fwd = matmul(matmul::primitive_desc(matmul::desc(md(B, in), md(in, out), md(1, out), md(B, out)), attr, eng_));
            if (hidden) {
                const algorithm bwd_alg = from_dst ? algorithm::eltwise_relu_use_dst_for_bwd : alg;
                eltwise_forward::primitive_desc hint(eltwise_forward::desc(prop_kind::forward_training, bwd_alg, md(B, out), alpha, 0.0f), eng_);
                if (!y.post_op) y.act_fwd = eltwise_forward(hint);
                y.act_bwd = eltwise_backward(eltwise_backward::primitive_desc(
                    eltwise_backward::desc(bwd_alg, md(B, out), md(B, out), alpha, 0.0f), eng_, hint));
                y.bwd_from_dst = from_dst;
            }
            y.dw_mm = matmul(matmul::primitive_desc(matmul::desc(md(in, B, tag::ba), md(B, out), md(in, out)), eng_));
            y.db_mm = matmul(matmul::primitive_desc(matmul::desc(md(1, B), md(B, out), md(1, out)), eng_));
            if (l > 0) {
                // dX of this layer is dY of the one below: written into its dz, then turned
                // into its dZ in place by the eltwise backward.
                y.dx_mm = matmul(matmul::primitive_desc(matmul::desc(md(B, out), md(out, in, tag::ba), md(B, in)), eng_));
            }
            layers_.push_back(y);
        }
        step(p);
    }
    std::string name() const override { return "onednn"; }

    void step(MlpProblem &) override {
        for (Layer &y : layers_) {
            if (y.post_op || !y.act_fwd) {
                y.fwd.execute(strm_, {{DNNL_ARG_SRC, y.x}, {DNNL_ARG_WEIGHTS, y.w}, {DNNL_ARG_BIAS, y.b}, {DNNL_ARG_DST, y.y}});
            } else {
                y.fwd.execute(strm_, {{DNNL_ARG_SRC, y.x}, {DNNL_ARG_WEIGHTS, y.w}, {DNNL_ARG_BIAS, y.b}, {DNNL_ARG_DST, y.z}});
                y.act_fwd.execute(strm_, {{DNNL_ARG_SRC, y.z}, {DNNL_ARG_DST, y.y}});
            }
        }
        for (size_t l = layers_.size(); l-- > 0;) {
            Layer &y = layers_[l];
            if (l + 1 < layers_.size()) {  // dz holds dY (from the layer above): make it dZ
                y.act_bwd.execute(strm_, {{y.bwd_from_dst ? DNNL_ARG_DST : DNNL_ARG_SRC, y.bwd_from_dst ? y.y : y.z},
                                          {DNNL_ARG_DIFF_DST, y.dz}, {DNNL_ARG_DIFF_SRC, y.dz}});
            }
            y.dw_mm.execute(strm_, {{DNNL_ARG_SRC, y.x}, {DNNL_ARG_WEIGHTS, y.dz}, {DNNL_ARG_DST, y.dw}});
            y.db_mm.execute(strm_, {{DNNL_ARG_SRC, ones_m_}, {DNNL_ARG_WEIGHTS, y.dz}, {DNNL_ARG_DST, y.db}});
            if (l > 0) y.dx_mm.execute(strm_, {{DNNL_ARG_SRC, y.dz}, {DNNL_ARG_WEIGHTS, y.w}, {DNNL_ARG_DST, layers_[l - 1].dz}});
        }
        strm_.wait();
    }

private:
    struct Layer {
        memory x, w, b, y, z, dz, dw, db;
        bool post_op = false, bwd_from_dst = false;
        matmul fwd, dw_mm, db_mm, dx_mm;
        eltwise_forward act_fwd;
        eltwise_backward act_bwd;
    };
    engine eng_{engine::kind::cpu, 0};
    stream strm_{eng_};
    std::vector<Layer> layers_;
    std::vector<float> ones_;
    memory ones_m_;
};

}  // namespace

std::unique_ptr<MlpImpl> make_onednn_mlp(MlpProblem &p) {
    algorithm alg;
    float alpha;
    if (!eltwise_of(p.act, 0.25f, &alg, &alpha)) return nullptr;
    return std::make_unique<OneDnnMlp>(p, alg, alpha);
}

}  // namespace bench
