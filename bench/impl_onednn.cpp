// oneDNN 2.6: matmul with bias and an eltwise post-op (plain weights, and weights prepacked in
// the layout oneDNN prefers); backward as eltwise backward + matmul dX = dZ·Wᵀ + matmul
// dW = Xᵀ·dZ + matmul db = 1ᵀ·dZ (its reduction primitive runs reference code).
#include "problem.h"

#include "onednn_util.h"

namespace bench {
namespace {

class OneDnn : public Impl {
public:
    OneDnn(Problem &p, bool prepacked, algorithm alg, float alpha) : prepacked_(prepacked) {
        const memory::dim M = p.s.M, K = p.s.K, N = p.s.N;
        post_ops po;
        po.append_eltwise(1.0f, alg, alpha, 0.0f);
        primitive_attr attr;
        attr.set_post_ops(po);
        matmul::primitive_desc fwd_pd(matmul::desc(md(M, K), prepacked ? md(K, N, tag::any) : md(K, N), md(1, N), md(M, N)), attr, eng_);
        fwd_ = matmul(fwd_pd);
        x_ = memory(md(M, K), eng_, p.x.data());
        w_ = memory(md(K, N), eng_, p.w.data());
        b_ = memory(md(1, N), eng_, p.b.data());
        y_ = memory(md(M, N), eng_, p.y.data());
        w_used_ = w_;
        if (prepacked && fwd_pd.weights_desc() != w_.get_desc()) {
            w_used_ = memory(fwd_pd.weights_desc(), eng_);
            reorder(w_, w_used_).execute(strm_, w_, w_used_);
            strm_.wait();
        }
        if (prepacked) return;  // the backward recipe is the same for both: time it once

        z_ = memory(md(M, N), eng_, p.z.data());
        dy_ = memory(md(M, N), eng_, p.dy.data());
        dz_ = memory(md(M, N), eng_, p.dz.data());
        dx_ = memory(md(M, K), eng_, p.dx.data());
        dw_ = memory(md(K, N), eng_, p.dw.data());
        db_ = memory(md(1, N), eng_, p.db.data());
        ones_.assign(size_t(M), 1.0f);
        ones_m_ = memory(md(1, M), eng_, ones_.data());
        eltwise_forward::primitive_desc hint(eltwise_forward::desc(prop_kind::forward_training, alg, md(M, N), alpha, 0.0f), eng_);
        act_bwd_ = eltwise_backward(eltwise_backward::primitive_desc(eltwise_backward::desc(alg, md(M, N), md(M, N), alpha, 0.0f), eng_, hint));
        dx_mm_ = matmul(matmul::primitive_desc(matmul::desc(md(M, N), md(N, K, tag::ba), md(M, K)), eng_));
        dw_mm_ = matmul(matmul::primitive_desc(matmul::desc(md(K, M, tag::ba), md(M, N), md(K, N)), eng_));
        db_mm_ = matmul(matmul::primitive_desc(matmul::desc(md(1, M), md(M, N), md(1, N)), eng_));
    }
    std::string name() const override { return prepacked_ ? "onednn_prepacked" : "onednn"; }
    void forward(Problem &) override {
        fwd_.execute(strm_, {{DNNL_ARG_SRC, x_}, {DNNL_ARG_WEIGHTS, w_used_}, {DNNL_ARG_BIAS, b_}, {DNNL_ARG_DST, y_}});
        strm_.wait();
    }
    void backward(Problem &) override {
        act_bwd_.execute(strm_, {{DNNL_ARG_SRC, z_}, {DNNL_ARG_DIFF_DST, dy_}, {DNNL_ARG_DIFF_SRC, dz_}});
        dx_mm_.execute(strm_, {{DNNL_ARG_SRC, dz_}, {DNNL_ARG_WEIGHTS, w_}, {DNNL_ARG_DST, dx_}});
        dw_mm_.execute(strm_, {{DNNL_ARG_SRC, x_}, {DNNL_ARG_WEIGHTS, dz_}, {DNNL_ARG_DST, dw_}});
        db_mm_.execute(strm_, {{DNNL_ARG_SRC, ones_m_}, {DNNL_ARG_WEIGHTS, dz_}, {DNNL_ARG_DST, db_}});
        strm_.wait();
    }
    bool has_backward() const override { return !prepacked_; }

private:
    bool prepacked_;
    engine eng_{engine::kind::cpu, 0};
    stream strm_{eng_};
    matmul fwd_, dx_mm_, dw_mm_, db_mm_;
    eltwise_backward act_bwd_;
    memory x_, w_, w_used_, b_, y_, z_, dy_, dz_, dx_, dw_, db_, ones_m_;
    std::vector<float> ones_;
};

}  // namespace

std::vector<std::unique_ptr<Impl>> make_onednn(Problem &p) {
    algorithm alg;
    float alpha;
    std::vector<std::unique_ptr<Impl>> out;
    if (!eltwise_of(p.act.act, p.slope, &alg, &alpha)) return out;
    out.push_back(std::make_unique<OneDnn>(p, false, alg, alpha));
    out.push_back(std::make_unique<OneDnn>(p, true, alg, alpha));
    return out;
}

}  // namespace bench
