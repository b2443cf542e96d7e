#include "mlp.h"

#include <algorithm>
#include <cmath>

namespace mlp {

using namespace reluforge;

Network::Network(const Options &o, int max_batch) : o_(o) {
    std::mt19937 rng(o.seed);
    const int n = int(o.sizes.size()) - 1;
    for (int l = 0; l < n; l++) {
        const bool top = l == n - 1;
        Layer layer{Linear(top ? Activation{} : o.act, true, WeightLayout::kn), o.sizes[l], o.sizes[l + 1]};
        // He initialization for the hidden layers; the output layer's logits start near zero.
        std::normal_distribution<float> normal(0.0f, std::sqrt((top ? 1.0f : 2.0f) / float(layer.in)));
        layer.w.resize(size_t(layer.in) * layer.out);
        for (auto &v : layer.w) v = normal(rng);
        layer.b.assign(layer.out, 0.0f);
        layer.dw.resize(layer.w.size());
        layer.db.resize(layer.out);
        layer.y.resize(size_t(max_batch) * layer.out);
        layer.dz.resize(size_t(max_batch) * layer.out);
        if (layer.linear.save() == Save::mask) {
            layer.aux_mask.resize(size_t(max_batch) * mask_row_bytes(layer.out));
        } else if (layer.linear.save() == Save::z) {
            layer.aux_f.resize(size_t(max_batch) * layer.out);
        }
        layer.counts.resize(layer.out);
        const size_t params = layer.w.size() + layer.b.size() + 1;
        layer.state1.assign(params, 0.0f);
        layer.state2.assign(params, 0.0f);
        layers_.push_back(std::move(layer));
        if (!top) active_.emplace_back(o.sizes[l + 1], 0);
    }
    probs_.resize(size_t(max_batch) * o.sizes.back());
}

void Network::reset_active_counts() {
    for (auto &a : active_) std::fill(a.begin(), a.end(), 0);
}

Tensor Network::aux(Layer &l, int rows) {
    switch (l.linear.save()) {
    case Save::mask: return Tensor::mask(l.aux_mask.data(), rows, l.out);
    case Save::z: return Tensor::matrix(l.aux_f.data(), rows, l.out);
    case Save::y: return y(l, rows);
    case Save::none: break;
    }
    return {};
}

void Network::forward(const float *x, int rows, bool train) {
    Tensor in = Tensor::matrix(x, rows, layers_[0].in);
    for (size_t k = 0; k < layers_.size(); k++) {
        Layer &l = layers_[k];
        ForwardArgs a;
        a.x = in;
        a.w = Tensor::matrix(l.w.data(), l.in, l.out);
        a.b = Tensor::vector(l.b.data(), l.out);
        if (l.linear.activation().kind == Act::prelu) a.slope = Tensor::vector(&l.slope, 1);
        a.y = y(l, rows);
        const bool hidden = k + 1 < layers_.size();
        if (train && hidden) {
            if (l.linear.save() != Save::y) a.aux = aux(l, rows);
            a.counts = Tensor::vector(l.counts.data(), l.out);
        }
        l.linear.forward(a);
        if (train && hidden) {
            for (int j = 0; j < l.out; j++) active_[k][j] += l.counts[j];
        }
        in = y(l, rows);
    }
}

float Network::train_step(const float *x, const std::uint8_t *labels, int rows, int *correct) {
    forward(x, rows, true);
    // Softmax cross-entropy; dlogits = (softmax - onehot) / rows, into the top layer's dz.
    Layer &top = layers_.back();
    const int classes = top.out;
    double loss = 0;
    for (int i = 0; i < rows; i++) {
        const float *z = &top.y[size_t(i) * classes];
        float *dz = &top.dz[size_t(i) * classes];
        const float zmax = *std::max_element(z, z + classes);
        double sum = 0;
        for (int c = 0; c < classes; c++) sum += std::exp(double(z[c] - zmax));
        for (int c = 0; c < classes; c++) {
            const double p = std::exp(double(z[c] - zmax)) / sum;
            dz[c] = float((p - (c == labels[i])) / rows);
        }
        loss += std::log(sum) - (z[labels[i]] - zmax);
        *correct += int(std::max_element(z, z + classes) - z) == labels[i];
    }
    // Backward, top down: each layer's backward-data finishes with the layer below's act', so
    // that layer's dZ (and db) come out of the same kernel.
    for (size_t k = layers_.size(); k-- > 0;) {
        Layer &l = layers_[k];
        const Tensor x_in = k == 0 ? Tensor::matrix(x, rows, l.in) : y(layers_[k - 1], rows);
        const Tensor dz = Tensor::matrix(l.dz.data(), rows, l.out);
        const Tensor dw = Tensor::matrix(l.dw.data(), l.in, l.out);
        const Tensor w = Tensor::matrix(l.w.data(), l.in, l.out);
        const bool db_here = k == layers_.size() - 1;  // lower layers get db from the layer above
        if (k == 0) {
            std::vector<Tensor> args{x_in, dz, dw};
            run_kernel(l.linear.backward_weight_spec(false), args);
            break;
        }
        Layer &prev = layers_[k - 1];
        ChainedBackwardArgs a;
        a.dz = dz;
        a.x = x_in;
        a.w = w;
        a.prev_aux = aux(prev, rows);
        if (prev.linear.activation().kind == Act::prelu) {
            a.prev_slope = Tensor::vector(&prev.slope, 1);
            a.dslope_prev = Tensor::vector(&prev.dslope, 1);
        }
        a.dw = dw;
        if (db_here) a.db = Tensor::vector(l.db.data(), l.out);
        a.dz_prev = Tensor::matrix(prev.dz.data(), rows, prev.out);
        a.db_prev = Tensor::vector(prev.db.data(), prev.out);
        l.linear.backward_chained(prev.linear, a);
    }
    step_++;
    for (auto &l : layers_) update(l);
    return float(loss / rows);
}

void Network::update(Layer &l) {
    const bool prelu = l.linear.activation().kind == Act::prelu;
    const bool sgd = o_.optimizer == "sgd";
    const float b1 = 0.9f, b2 = 0.999f, lr = o_.learning_rate * learning_rate_scale_;
    // Adam's bias corrections, once per step.
    const float c1 = 1 / (1 - std::pow(b1, float(step_))), c2 = 1 / (1 - std::pow(b2, float(step_)));
    auto step = [&](float &p, float g, size_t k) {
        if (sgd) {
            l.state1[k] = o_.momentum * l.state1[k] + g;
            p -= lr * l.state1[k];
        } else {
            l.state1[k] = b1 * l.state1[k] + (1 - b1) * g;
            l.state2[k] = b2 * l.state2[k] + (1 - b2) * g * g;
            p -= lr * (l.state1[k] * c1) / (std::sqrt(l.state2[k] * c2) + 1e-8f);
        }
    };
    size_t k = 0;
    for (size_t i = 0; i < l.w.size(); i++) step(l.w[i], l.dw[i], k++);
    for (size_t i = 0; i < l.b.size(); i++) step(l.b[i], l.db[i], k++);
    if (prelu) step(l.slope, l.dslope, k);
}

void Network::predict(const float *x, int rows, std::uint8_t *classes) {
    forward(x, rows, false);
    const Layer &top = layers_.back();
    for (int i = 0; i < rows; i++) {
        const float *z = &top.y[size_t(i) * top.out];
        classes[i] = std::uint8_t(std::max_element(z, z + top.out) - z);
    }
}

}  // namespace mlp
