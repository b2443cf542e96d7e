#include "reluforge/generator/activation_math.h"

#include "reluforge/error.h"

#include <limits>

namespace reluforge::gen {

using Halide::Expr;
using Halide::select;
using Halide::reinterpret;
using Halide::strict_float;

namespace {

constexpr float kSeluLambda = 1.0507009873554805f;
constexpr float kSeluAlpha = 1.6732632423543772f;
constexpr float kInvSqrt2 = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;
constexpr float kGeluTanhK = 0.79788456080286536f;  // sqrt(2/pi)
constexpr float kGeluTanhC = 0.044715f;

// Vectorizable math, a few ulps from correctly rounded (the reference tests hold every
// activation to numerics.md's bounds). Everything here runs inside strict_float, which keeps
// LLVM from reassociating the cancellation-sensitive steps (u - 1 in log1p).
// Halide's own exp is vectorized and within 1 ulp, but clamps its argument, so exp(+inf) came
// out finite (gelu-tanh(-inf) was -inf, not NaN): the overflow and underflow ends are explicit.
// Halide has no expm1, log1p or erfc.
Expr exp_(Expr x) {
    const float inf = std::numeric_limits<float>::infinity();
    return select(x > 88.7228394f, inf, select(x < -103.972084f, 0.0f, Halide::exp(x)));
}

// expm1: the Taylor series to x^8/8! where exp(x) - 1 would cancel (|x| < ln2/2, truncation
// below 3e-10 relative), exp(x) - 1 beyond (at most ~1.5 bits lost there).
Expr expm1_(Expr x) {
    Expr p = 1.0f / 40320.0f;
    for (float c : {1.0f / 5040.0f, 1.0f / 720.0f, 1.0f / 120.0f, 1.0f / 24.0f, 1.0f / 6.0f, 0.5f, 1.0f}) {
        p = p * x + c;
    }
    return select(Halide::abs(x) < 0.34657359f, p * x, Halide::exp(x) - 1.0f);
}

// log1p: below 1/16 the series to x^7/7 (truncation under 1e-9 relative): Halide's log(1 + e)
// is not accurate relative to its tiny result (mish(-15) was 6% off through Goldberg's identity).
// Above, log(u) * x / (u - 1) with u = 1 + x rounded (Goldberg), a few ulps.
Expr log1p_(Expr x) {
    Expr p = 1.0f / 7.0f;
    for (float c : {-1.0f / 6.0f, 1.0f / 5.0f, -0.25f, 1.0f / 3.0f, -0.5f, 1.0f}) p = p * x + c;
    Expr u = 1.0f + x;
    return select(Halide::abs(x) < 0.0625f, p * x, Halide::log(u) * x / (u - 1.0f));
}

// tanh from expm1 (no cancellation near 0); saturated where expm1(2|x|) would overflow.
Expr tanh_(Expr x) {
    Expr a = Halide::abs(x);
    Expr e = expm1_(2.0f * a);
    Expr t = select(a > 20.0f, 1.0f, e / (e + 2.0f));
    return select(x < 0.0f, -t, t);
}

// erfc: the Chebyshev fit of Press et al., Numerical Recipes (2nd ed., 6.2, erfcc), relative
// error below 1.2e-7 for x >= 0; erfc(x) = 2 - erfc(-x) below zero.
Expr erfc_(Expr x) {
    Expr a = Halide::abs(x);
    Expr t = 1.0f / (1.0f + 0.5f * a);
    Expr p = 0.17087277f;
    for (float c : {-0.82215223f, 1.48851587f, -1.13520398f, 0.27886807f, -0.18628806f, 0.09678418f,
                    0.37409196f, 1.00002368f, -1.26551223f}) {
        p = p * t + c;
    }
    Expr r = t * Halide::exp(-a * a + p);
    return select(x < 0.0f, 2.0f - r, r);
}
Expr sigmoid(Expr x) { return 1.0f / (1.0f + exp_(-x)); }

// σ(x) and σ(-x) = 1 - σ(x) from one exp, e = exp(-x), without cancellation; right at e = 0 and
// e = inf too. Each exp is an inlined polynomial: sharing them keeps objects (and compile and
// JIT-link times) smaller.
struct SigmoidPair {
    Expr pos, neg;
};
SigmoidPair sigmoid_pair(Expr x) {
    Expr e = exp_(-x);
    return {1.0f / (1.0f + e), 1.0f / (1.0f + 1.0f / e)};
}

// NaN tested on the bits. Halide 14 with LLVM 14 lowers select(z <= 0, 0, z) to a vmaxps that
// returns 0 for NaN even inside strict_float (and with the StrictFloat target feature), so no
// float predicate can be trusted to pick the NaN branch; an integer compare cannot be folded.
Expr is_nan_bits(const Expr &z) {
    return (reinterpret<uint32_t>(z) & Halide::cast<uint32_t>(0x7fffffff)) > Halide::cast<uint32_t>(0x7f800000);
}

// value, except where z is NaN: there the table's value at NaN.
Expr nan_case(const Expr &z, const Expr &at_nan, const Expr &value) {
    return select(is_nan_bits(z), at_nan, value);
}

[[noreturn]] void unsupported(const char *what, const Activation &a) {
    throw Error(ErrorCode::bad_spec, std::string(what) + " is not defined for " + to_string(a));
}

Expr activation_value(const Activation &a, Expr z, Expr slope) {
    switch (a.kind) {
    case Act::identity: return z;
    case Act::relu: return select(z <= 0.0f, 0.0f, z);
    case Act::leaky_relu: return select(z > 0.0f, z, a.slope * z);
    case Act::prelu: return select(z > 0.0f, z, slope * z);
    case Act::elu: return select(z > 0.0f, z, a.alpha * expm1_(z));
    case Act::selu: return kSeluLambda * select(z > 0.0f, z, kSeluAlpha * expm1_(z));
    case Act::celu: return select(z > 0.0f, z, a.alpha * expm1_(z / a.alpha));
    case Act::relu6: return select(z <= 0.0f, 0.0f, select(z >= 6.0f, 6.0f, z));
    case Act::gelu:
        if (a.approximate == GeluApprox::none) {
            // 0.5 z (1 + erf(z/√2)) == 0.5 z erfc(-z/√2), without the cancellation for z < 0.
            return 0.5f * z * erfc_(-z * kInvSqrt2);
        } else {
            // 0.5 z (1 + tanh(u)) == z σ(2u), likewise.
            Expr u = kGeluTanhK * (z + kGeluTanhC * z * z * z);
            return z / (1.0f + exp_(-2.0f * u));
        }
    case Act::silu: return z / (1.0f + exp_(-z));
    case Act::mish: return z * tanh_(log1p_(exp_(z)));
    case Act::softplus: {
        Expr bz = a.beta * z;
        return select(bz > a.threshold, z, log1p_(exp_(bz)) / a.beta);
    }
    case Act::hardswish: {
        Expr c = z + 3.0f;
        return z * select(c <= 0.0f, 0.0f, select(c >= 6.0f, 6.0f, c)) / 6.0f;
    }
    }
    unsupported("the forward", a);
}

Expr derivative_value(const Activation &a, Expr z, Expr slope) {
    switch (a.kind) {
    case Act::identity: return Expr(1.0f);
    case Act::relu: return select(z <= 0.0f, 0.0f, 1.0f);
    case Act::leaky_relu: return select(z > 0.0f, 1.0f, a.slope);
    case Act::prelu: return select(z > 0.0f, 1.0f, slope);
    case Act::elu: return select(z <= 0.0f, a.alpha * exp_(z), 1.0f);
    case Act::selu: return select(z <= 0.0f, (kSeluLambda * kSeluAlpha) * exp_(z), kSeluLambda);
    case Act::celu: return select(z <= 0.0f, exp_(z / a.alpha), 1.0f);
    case Act::relu6: return select(z <= 0.0f || z >= 6.0f, 0.0f, 1.0f);
    case Act::gelu:
        if (a.approximate == GeluApprox::none) {
            return 0.5f * erfc_(-z * kInvSqrt2) + z * (kInvSqrt2Pi * exp_(-0.5f * z * z));
        } else {
            // s = σ(2u) = (1 + t)/2 and 1 - s = σ(-2u), so 1 - t² = 4 s (1 - s).
            Expr u = kGeluTanhK * (z + kGeluTanhC * z * z * z);
            SigmoidPair s = sigmoid_pair(2.0f * u);
            return s.pos + 2.0f * z * s.pos * s.neg * kGeluTanhK * (1.0f + 3.0f * kGeluTanhC * z * z);
        }
    case Act::silu: {
        SigmoidPair s = sigmoid_pair(z);
        return s.pos * (1.0f + z * s.neg);
    }
    case Act::mish: {
        // t = tanh(softplus(z)); 1 - t² = sech²(softplus) = 4 / (q + 1/q)² with q = 1 + e^z.
        Expr e = exp_(z);
        Expr t = tanh_(log1p_(e));
        Expr q = 1.0f + e;
        Expr r = q + 1.0f / q;
        Expr sig = 1.0f / (1.0f + 1.0f / e);  // σ(z) from the same exp
        return t + z * sig * (4.0f / (r * r));
    }
    case Act::softplus: {
        Expr bz = a.beta * z;
        return select(bz > a.threshold, 1.0f, sigmoid(bz));
    }
    case Act::hardswish:
        return select(z < -3.0f, 0.0f, select(z < 3.0f, z / 3.0f + 0.5f, 1.0f));
    }
    unsupported("the derivative", a);
}

}  // namespace

Expr activation(const Activation &a, Expr z, Expr slope) {
    return strict_float(nan_case(z, z, activation_value(a, z, std::move(slope))));
}

// act'(NaN) of numerics.md: the predicates' false branch (NaN itself for the smooth ones).
Expr derivative_at_nan(const Activation &a, const Expr &nan, const Expr &slope) {
    switch (a.kind) {
    case Act::leaky_relu: return Expr(a.slope);
    case Act::prelu: return slope;
    case Act::selu: return Expr(kSeluLambda);
    case Act::gelu:
    case Act::silu:
    case Act::mish:
    case Act::softplus: return nan;
    default: return Expr(1.0f);
    }
}

Expr derivative(const Activation &a, Expr z, Expr slope) {
    return strict_float(nan_case(z, derivative_at_nan(a, z, slope), derivative_value(a, z, slope)));
}

namespace {
Expr derivative_from_y_value(const Activation &a, const Expr &y) {
    // Below the kink y <= 0 exactly when z <= 0 (see derivative_from_y_allowed).
    switch (a.kind) {
    case Act::relu: return select(y <= 0.0f, 0.0f, 1.0f);
    case Act::relu6: return select(y <= 0.0f || y >= 6.0f, 0.0f, 1.0f);
    case Act::leaky_relu: return select(y > 0.0f, 1.0f, a.slope);
    case Act::elu: return select(y <= 0.0f, y + a.alpha, 1.0f);
    case Act::selu: return select(y <= 0.0f, y + kSeluLambda * kSeluAlpha, kSeluLambda);
    case Act::celu: return select(y <= 0.0f, y / a.alpha + 1.0f, 1.0f);
    default: unsupported("the derivative from Y", a);
    }
}
}  // namespace

Expr derivative_from_y(const Activation &a, Expr y) {
    // y is NaN exactly when z is.
    return strict_float(nan_case(y, derivative_at_nan(a, y, Expr()), derivative_from_y_value(a, y)));
}

Expr mask_bit(const Activation &a, Expr z) {
    // At NaN the bit is the predicate's value: set for relu and relu6, clear for leaky_relu.
    switch (a.kind) {
    case Act::relu: return strict_float(is_nan_bits(z) || z > 0.0f);
    case Act::leaky_relu: return strict_float(!is_nan_bits(z) && z > 0.0f);
    case Act::relu6: return strict_float(is_nan_bits(z) || (z > 0.0f && z < 6.0f));
    default: unsupported("a bit mask", a);
    }
}

Expr derivative_from_bit(const Activation &a, Expr bit) {
    switch (a.kind) {
    case Act::relu:
    case Act::relu6: return select(bit, 1.0f, 0.0f);
    case Act::leaky_relu: return select(bit, 1.0f, a.slope);
    default: unsupported("a bit mask", a);
    }
}

Expr is_nonzero(Expr x) { return strict_float(is_nan_bits(x) || x != 0.0f); }

Expr prelu_slope_term(Expr z, Expr dy) {
    return strict_float(nan_case(z, z * dy, select(z > 0.0f, 0.0f, z * dy)));
}

}  // namespace reluforge::gen
