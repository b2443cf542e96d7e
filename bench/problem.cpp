#include "problem.h"

#include <cmath>
#include <random>

namespace bench {

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

float act_value(const reluforge::Activation &a, float z, float slope) {
    using reluforge::Act;
    switch (a.kind) {
    case Act::relu: return z > 0 ? z : 0.0f;
    case Act::leaky_relu: return z > 0 ? z : a.slope * z;
    case Act::prelu: return z > 0 ? z : slope * z;
    case Act::elu: return z > 0 ? z : a.alpha * std::expm1(z);
    case Act::gelu: return 0.5f * z * std::erfc(-z * 0.70710678f);
    case Act::silu: return z / (1.0f + std::exp(-z));
    default: return z;
    }
}

float act_grad(const reluforge::Activation &a, float z, float slope) {
    using reluforge::Act;
    switch (a.kind) {
    case Act::relu: return z <= 0 ? 0.0f : 1.0f;
    case Act::leaky_relu: return z > 0 ? 1.0f : a.slope;
    case Act::prelu: return z > 0 ? 1.0f : slope;
    case Act::elu: return z <= 0 ? a.alpha * std::exp(z) : 1.0f;
    case Act::gelu: return 0.5f * std::erfc(-z * 0.70710678f) + z * 0.39894228f * std::exp(-0.5f * z * z);
    case Act::silu: {
        const float s = 1.0f / (1.0f + std::exp(-z));
        return s * (1.0f + z * (1.0f - s));
    }
    default: return 1.0f;
    }
}

}  // namespace bench
