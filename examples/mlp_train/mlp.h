// A multilayer perceptron built from reluforge's fused layers: forward (bias + activation, saving
// what backward needs and counting active units), backward-data that finishes with the previous
// layer's activation derivative, and backward-weight. Softmax cross-entropy on top; SGD with
// momentum or Adam.
#pragma once

#include <reluforge/reluforge.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace mlp {

struct Options {
    std::vector<int> sizes{784, 256, 128, 10};  // input, hidden..., classes
    reluforge::Activation act{reluforge::Act::relu};
    std::string optimizer = "adam";  // or "sgd" (with momentum)
    float learning_rate = 2e-3f;
    float momentum = 0.9f;
    unsigned seed = 1;
};

class Network {
public:
    Network(const Options &o, int max_batch);

    // One step on a batch (rows of x, labels): forward, loss, backward, update. Returns the mean
    // loss and adds the batch's correct predictions to *correct.
    float train_step(const float *x, const std::uint8_t *labels, int rows, int *correct);
    // Predicted classes of a batch (forward without saving anything).
    void predict(const float *x, int rows, std::uint8_t *classes);

    // Per hidden layer, per unit: rows with act'(z) != 0 since the last reset.
    const std::vector<std::vector<std::int64_t>> &active_counts() const { return active_; }
    void reset_active_counts();
    // Multiplies the learning rate of the following steps (a schedule's decay).
    void set_learning_rate_scale(float scale) { learning_rate_scale_ = scale; }
    int hidden_layers() const { return int(layers_.size()) - 1; }

private:
    struct Layer {
        reluforge::Linear linear;
        int in, out;
        std::vector<float> w, b, dw, db, y, aux_f, dz;  // w is [in, out]; aux_f: saved Z
        std::vector<std::uint8_t> aux_mask;              // saved bit mask (relu-like activations)
        std::vector<std::int32_t> counts;
        float slope = 0.25f, dslope = 0;                 // prelu, shared slope
        std::vector<float> state1, state2;               // optimizer moments, over all parameters
    };

    reluforge::Tensor aux(Layer &l, int rows);
    reluforge::Tensor y(Layer &l, int rows) { return reluforge::Tensor::matrix(l.y.data(), rows, l.out); }
    void forward(const float *x, int rows, bool train);
    void update(Layer &l);

    Options o_;
    std::vector<Layer> layers_;
    std::vector<std::vector<std::int64_t>> active_;
    std::vector<float> probs_;
    long step_ = 0;
    float learning_rate_scale_ = 1;
};

}  // namespace mlp
