#include "reference.h"

#include <cmath>
#include <random>

namespace ref {

using reluforge::Act;
using reluforge::GeluApprox;

namespace {
constexpr double kLambda = 1.0507009873554805;
constexpr double kAlpha = 1.6732632423543772;
constexpr double kPi = 3.14159265358979323846;

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
// Φ(z) = 0.5 (1 + erf(z/√2)), computed as 0.5 erfc(-z/√2): in double, 1 + erf(z/√2) loses every
// digit below z ≈ -8, where PyTorch's float64 result is still a normal number.
double Phi(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }
double phi(double z) { return std::exp(-0.5 * z * z) / std::sqrt(2.0 * kPi); }
double gelu_u(double z) { return std::sqrt(2.0 / kPi) * (z + 0.044715 * z * z * z); }
// 1 + tanh(u) as 2σ(2u), for the same reason.
double one_plus_tanh(double u) { return 2.0 * sigmoid(2.0 * u); }
}  // namespace

double act(const Activation &a, double z, double slope) {
    switch (a.kind) {
    case Act::identity: return z;
    case Act::relu: return std::isnan(z) ? z : (z > 0 ? z : 0.0);
    case Act::leaky_relu: return z > 0 ? z : double(a.slope) * z;
    case Act::prelu: return z > 0 ? z : slope * z;
    case Act::elu: return z > 0 ? z : double(a.alpha) * std::expm1(z);
    case Act::selu: return kLambda * (z > 0 ? z : kAlpha * std::expm1(z));
    case Act::celu: return z > 0 ? z : double(a.alpha) * std::expm1(z / double(a.alpha));
    case Act::relu6: return std::isnan(z) ? z : std::min(std::max(z, 0.0), 6.0);
    case Act::gelu:
        if (a.approximate == GeluApprox::none) return z * Phi(z);
        return 0.5 * z * one_plus_tanh(gelu_u(z));
    case Act::silu: return z * sigmoid(z);
    case Act::mish: return z * std::tanh(std::log1p(std::exp(z)));
    case Act::softplus: {
        double b = a.beta;
        return b * z > double(a.threshold) ? z : std::log1p(std::exp(b * z)) / b;
    }
    case Act::hardswish: {
        double c = z + 3.0;
        c = std::isnan(c) ? c : std::min(std::max(c, 0.0), 6.0);
        return z * c / 6.0;
    }
    }
    return NAN;
}

double grad(const Activation &a, double z, double slope) {
    switch (a.kind) {
    case Act::identity: return 1.0;
    case Act::relu: return z <= 0 ? 0.0 : 1.0;
    case Act::leaky_relu: return z > 0 ? 1.0 : double(a.slope);
    case Act::prelu: return z > 0 ? 1.0 : slope;
    case Act::elu: return z <= 0 ? double(a.alpha) * std::exp(z) : 1.0;
    case Act::selu: return z <= 0 ? kLambda * kAlpha * std::exp(z) : kLambda;
    case Act::celu: return z <= 0 ? std::exp(z / double(a.alpha)) : 1.0;
    case Act::relu6: return (z <= 0 || z >= 6) ? 0.0 : 1.0;
    case Act::gelu:
        if (a.approximate == GeluApprox::none) return Phi(z) + z * phi(z);
        else {
            // 1 - tanh²(u) as 4 σ(2u) σ(-2u): in double, 1 - t² is 0 once |u| > 19.
            const double k = std::sqrt(2.0 / kPi), u = gelu_u(z);
            const double sech2 = 4.0 * sigmoid(2.0 * u) * sigmoid(-2.0 * u);
            return 0.5 * one_plus_tanh(u) + 0.5 * z * sech2 * k * (1 + 3 * 0.044715 * z * z);
        }
    case Act::silu: {
        double s = sigmoid(z);
        return s * (1 + z * (1 - s));
    }
    case Act::mish: {
        double t = std::tanh(std::log1p(std::exp(z)));
        return t + z * sigmoid(z) * (1 - t * t);
    }
    case Act::softplus: {
        double b = a.beta;
        return b * z > double(a.threshold) ? 1.0 : sigmoid(b * z);
    }
    case Act::hardswish: return z < -3 ? 0.0 : (z < 3 ? z / 3 + 0.5 : 1.0);
    }
    return NAN;
}

double grad2(const Activation &a, double z, double slope) {
    if (!std::isfinite(z)) return 0.0;
    const double h = 1e-4 * std::max(1.0, std::abs(z));
    return (grad(a, z + h, slope) - grad(a, z - h, slope)) / (2 * h);
}

bool mask_bit(const Activation &a, double z) {
    switch (a.kind) {
    case Act::relu: return !(z <= 0);
    case Act::leaky_relu: return z > 0;
    case Act::relu6: return !(z <= 0 || z >= 6);
    case Act::identity:
    case Act::prelu:
    case Act::elu:
    case Act::selu:
    case Act::celu:
    case Act::gelu:
    case Act::silu:
    case Act::mish:
    case Act::softplus:
    case Act::hardswish: return false;
    }
    return false;
}

MatD matmul(const Mat &a, const Mat &b, bool ta, bool tb, MatD *mag) {
    const int M = ta ? a.cols : a.rows, K = ta ? a.rows : a.cols, N = tb ? b.rows : b.cols;
    MatD out(M, N);
    if (mag) *mag = MatD(M, N);
    for (int m = 0; m < M; m++) {
        for (int n = 0; n < N; n++) {
            double s = 0, sa = 0;
            for (int k = 0; k < K; k++) {
                double x = ta ? a(k, m) : a(m, k), y = tb ? b(n, k) : b(k, n);
                s += x * y;
                sa += std::abs(x * y);
            }
            out(m, n) = s;
            if (mag) (*mag)(m, n) = sa;
        }
    }
    return out;
}

double reduction_bound(int k, double mag) { return 4.0 * (k + 2) * std::ldexp(1.0, -24) * mag + 1e-30; }

void fill_uniform(Mat &m, unsigned seed, float lo, float hi) {
    std::mt19937 gen(seed);
    std::uniform_real_distribution<float> d(lo, hi);
    for (auto &x : m.v) x = d(gen);
}

}  // namespace ref
