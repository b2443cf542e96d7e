#include "problem.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace bench {

namespace {
constexpr float kSeluLambda = 1.0507009873554805f, kSeluAlpha = 1.6732632423543772f;
}  // namespace

Problem::Problem(Shape shape, ActCase a) : s(shape), act(std::move(a)) {
    const size_t mk = size_t(s.M) * s.K, kn = size_t(s.K) * s.N, mn = size_t(s.M) * s.N;
    std::mt19937 gen(42);
    std::uniform_real_distribution<float> d(-1.0f, 1.0f);
    auto fill = [&](std::vector<float> &v, size_t n, float scale) {
        v.resize(n);
        for (auto &e : v) e = d(gen) * scale;
    };
    fill(x, mk, 1.0f);
    fill(w, kn, 1.0f / std::sqrt(float(s.K)));
    fill(b, size_t(s.N), 0.1f);
    fill(dy, mn, 1.0f);
    y.assign(mn, 0.0f);
    z.assign(mn, 0.0f);
    dz.assign(mn, 0.0f);
    dx.assign(mk, 0.0f);
    dw.assign(kn, 0.0f);
    db.assign(size_t(s.N), 0.0f);
}

// Plain scalar formulas for the OpenBLAS baseline's separate pass (docs/numerics.md's table).
float act_value(const reluforge::Activation &a, float z, float slope) {
    using reluforge::Act;
    switch (a.kind) {
    case Act::identity: return z;
    case Act::relu: return z > 0 ? z : 0.0f;
    case Act::leaky_relu: return z > 0 ? z : a.slope * z;
    case Act::prelu: return z > 0 ? z : slope * z;
    case Act::elu: return z > 0 ? z : a.alpha * std::expm1(z);
    case Act::selu: return kSeluLambda * (z > 0 ? z : kSeluAlpha * std::expm1(z));
    case Act::celu: return z > 0 ? z : a.alpha * std::expm1(z / a.alpha);
    case Act::relu6: return std::min(std::max(z, 0.0f), 6.0f);
    case Act::gelu:
        if (a.approximate == reluforge::GeluApprox::tanh) {
            return 0.5f * z * (1.0f + std::tanh(0.7978845608f * (z + 0.044715f * z * z * z)));
        }
        return 0.5f * z * std::erfc(-z * 0.70710678f);
    case Act::silu: return z / (1.0f + std::exp(-z));
    case Act::mish: return z * std::tanh(std::log1p(std::exp(z)));
    case Act::softplus: return a.beta * z > a.threshold ? z : std::log1p(std::exp(a.beta * z)) / a.beta;
    case Act::hardswish: return z * std::min(std::max(z + 3.0f, 0.0f), 6.0f) / 6.0f;
    }
    return z;
}

float act_grad(const reluforge::Activation &a, float z, float slope) {
    using reluforge::Act;
    auto sigmoid = [](float x) { return 1.0f / (1.0f + std::exp(-x)); };
    switch (a.kind) {
    case Act::identity: return 1.0f;
    case Act::relu: return z <= 0 ? 0.0f : 1.0f;
    case Act::leaky_relu: return z > 0 ? 1.0f : a.slope;
    case Act::prelu: return z > 0 ? 1.0f : slope;
    case Act::elu: return z <= 0 ? a.alpha * std::exp(z) : 1.0f;
    case Act::selu: return z <= 0 ? kSeluLambda * kSeluAlpha * std::exp(z) : kSeluLambda;
    case Act::celu: return z <= 0 ? std::exp(z / a.alpha) : 1.0f;
    case Act::relu6: return z <= 0 || z >= 6 ? 0.0f : 1.0f;
    case Act::gelu:
        if (a.approximate == reluforge::GeluApprox::tanh) {
            const float k = 0.7978845608f, t = std::tanh(k * (z + 0.044715f * z * z * z));
            return 0.5f * (1 + t) + 0.5f * z * (1 - t * t) * k * (1 + 3 * 0.044715f * z * z);
        }
        return 0.5f * std::erfc(-z * 0.70710678f) + z * 0.39894228f * std::exp(-0.5f * z * z);
    case Act::silu: {
        const float s = sigmoid(z);
        return s * (1.0f + z * (1.0f - s));
    }
    case Act::mish: {
        const float t = std::tanh(std::log1p(std::exp(z)));
        return t + z * sigmoid(z) * (1 - t * t);
    }
    case Act::softplus: return a.beta * z > a.threshold ? 1.0f : sigmoid(a.beta * z);
    case Act::hardswish: return z < -3 ? 0.0f : z < 3 ? z / 3 + 0.5f : 1.0f;
    }
    return 1.0f;
}

}  // namespace bench
