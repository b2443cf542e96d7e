#include "reluforge/generator/activation_math.h"

#include "elementary.h"
#include "reluforge/error.h"

namespace reluforge::gen {

using Halide::Expr;
using Halide::select;
using Halide::reinterpret;
using Halide::strict_float;

namespace {

constexpr float kSeluLambda = 1.0507009873554805f;
constexpr float kSeluAlpha = 1.6732632423543772f;
constexpr float kGeluTanhK = 0.79788456080286536f;  // sqrt(2/pi)
constexpr float kGeluTanhC = 0.044715f;

// Exps whose result is only used for arguments <= 0 (<= 20) take the cheaper scaling. celu's
// exp(z/α) is not among them: α may be negative.
constexpr auto kUsedAtMost0 = math::Exp::Range::at_most_43;
constexpr auto kUsedAtMost20 = math::Exp::Range::at_most_43;

// NaN tested on the bits. Halide 14 with LLVM 14 lowers select(z <= 0, 0, z) to a vmaxps that
// returns 0 for NaN even inside strict_float (and with the StrictFloat target feature), so no
// float predicate can be trusted to pick the NaN branch; an integer compare cannot be folded.
Expr is_nan_bits(const Expr &z) {
    return (reinterpret<uint32_t>(z) & Halide::cast<uint32_t>(0x7fffffff)) > Halide::cast<uint32_t>(0x7f800000);
}

// relu, leaky_relu, prelu, elu, selu and celu test z's bits as int32, which order the floats:
// -0 lowest, the negatives by magnitude up to -inf, the NaNs with the sign bit set (x86's default
// NaN), +0, the positives, +inf, the other NaNs. One integer compare sorts every NaN with the
// positives, where the NaN test beside a float compare took four vector operations and a mask
// merge a vector. AMD EPYC Zen 5 (peak 216 GFLOP/s), 1 thread, alternating, forward relu saving
// the mask 16384x32x128 1.08-1.15 -> 0.97-1.00 ms, 8192x64x256 1.69-1.80 -> 1.60-1.65,
// 1024x128x1024 even (1.45); relu saving nothing 16384x32x128 0.74-0.85 -> 0.70-0.77;
// leaky_relu 16384x32x128 0.76-0.91 -> 0.73-0.77, 8192x64x256 1.38-1.55 -> 1.35-1.44; elu
// 16384x32x128 1.12-1.14 -> 1.04-1.05, 8192x64x256 1.72-1.76 -> 1.67-1.71, 1024x128x1024
// 1.49-1.52 -> 1.47-1.49; selu saving Z 16384x32x128 1.35-1.43 -> 1.29-1.31. The same bits, but
// for the sign of a zero (leaky_relu(+0) with a negative slope), which the contract leaves open.
constexpr int32_t kNegativeInfinityBits = -8388608;  // 0xff800000
constexpr int32_t kInfinityBits = 0x7f800000;

Expr bits(const Expr &z) { return reinterpret<int32_t>(z); }

// z > 0, z = +0 or NaN: where relu, leaky_relu, prelu, elu and celu give z (selu λz).
Expr keeps_z(const Expr &z) { return bits(z) > kNegativeInfinityBits; }

// z > 0 or NaN: relu's predicate, and where the elus' act' is constant.
Expr positive_or_nan(const Expr &z) { return keeps_z(z) && bits(z) != 0; }

// z > 0 and not NaN: leaky_relu's and prelu's predicate.
Expr positive_not_nan(const Expr &z) { return bits(z) > 0 && bits(z) <= kInfinityBits; }

// These formulas give the table's value at NaN themselves: the piecewise ones whose predicate
// sorts NaN with the positives, where they take z (forward) or a constant (act').
bool nan_in_predicate(const Activation &a) {
    switch (a.kind) {
    case Act::relu:
    case Act::leaky_relu:
    case Act::prelu:
    case Act::elu:
    case Act::selu:
    case Act::celu: return true;
    case Act::identity:
    case Act::relu6:
    case Act::gelu:
    case Act::silu:
    case Act::mish:
    case Act::softplus:
    case Act::hardswish: return false;
    }
    return false;
}

// value, except where z is NaN: there the table's value at NaN.
Expr nan_case(const Expr &z, const Expr &at_nan, const Expr &value) {
    return select(is_nan_bits(z), at_nan, value);
}

// gelu (erf)'s normal tail is finite only for finite z: ±inf take their values in the same select
// as NaN, one compare of the bits.
bool is_gelu_erf(const Activation &a) { return a.kind == Act::gelu && a.approximate == GeluApprox::none; }

Expr non_finite_case(const Expr &z, const Expr &at_non_finite, const Expr &value) {
    const Expr exponent = Halide::cast<uint32_t>(0x7f800000);
    return select((reinterpret<uint32_t>(z) & exponent) == exponent, at_non_finite, value);
}

[[noreturn]] void unsupported(const char *what, const Activation &a) {
    throw Error(ErrorCode::bad_spec, std::string(what) + " is not defined for " + to_string(a));
}

Expr activation_value(const Activation &a, Expr z, Expr slope) {
    switch (a.kind) {
    case Act::identity: return z;
    case Act::relu: return select(keeps_z(z), z, 0.0f);
    case Act::leaky_relu: return select(keeps_z(z), z, a.slope * z);
    case Act::prelu: return select(keeps_z(z), z, slope * z);
    case Act::elu: return select(keeps_z(z), z, a.alpha * math::expm1(z, kUsedAtMost0));
    case Act::selu: return kSeluLambda * select(keeps_z(z), z, kSeluAlpha * math::expm1(z, kUsedAtMost0));
    case Act::celu: return select(keeps_z(z), z, a.alpha * math::expm1(z / a.alpha));
    case Act::relu6: return select(z <= 0.0f, 0.0f, select(z >= 6.0f, 6.0f, z));
    case Act::gelu:
        if (a.approximate == GeluApprox::none) {
            // z Φ(z) = max(z, 0) - |z| Q(|z|), Q(u) = Φ(-u): one tail for both signs, without
            // the cancellation of 1 + erf(z/√2) below 0, rounded once where it underflows.
            Expr u = Halide::abs(z);
            return Halide::max(z, 0.0f) - math::NormalTail(u).q_times(u);
        } else {
            // 0.5 z (1 + tanh(u)) == z σ(2u), likewise.
            Expr u = kGeluTanhK * (z + kGeluTanhC * z * z * z);
            return math::Sigmoid(2.0f * u).pos_times(z);
        }
    case Act::silu: return math::Sigmoid(z).pos_times(z);
    case Act::mish: {
        // tanh(log1p(e)) = n / (n + 2) with n = e (2 + e), e = e^z; 1 in float above z = 20.
        math::Exp e(z, kUsedAtMost20);
        Expr ez = e.value(), n = ez * (2.0f + ez);
        return select(z > 20.0f, z, e.times(z * (2.0f + ez) / (n + 2.0f)));
    }
    case Act::softplus: {
        // max(βz, 0) + log1p(e^-|βz|): exact where log1p(e^βz) would overflow (a threshold
        // above 88), and an exp that never sees a positive argument.
        Expr bz = a.beta * z;
        Expr soft = Halide::max(bz, 0.0f) + math::log1p(math::exp_at_most_43(-Halide::abs(bz)));
        return select(bz > a.threshold, z, soft / a.beta);
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
    case Act::relu: return select(positive_or_nan(z), 1.0f, 0.0f);
    case Act::leaky_relu: return select(positive_not_nan(z), 1.0f, a.slope);
    case Act::prelu: return select(positive_not_nan(z), 1.0f, slope);
    case Act::elu: return select(positive_or_nan(z), 1.0f, math::Exp(z, kUsedAtMost0).times(a.alpha));
    case Act::selu: return select(positive_or_nan(z), kSeluLambda, math::Exp(z, kUsedAtMost0).times(kSeluLambda * kSeluAlpha));
    case Act::celu: return select(positive_or_nan(z), 1.0f, math::exp(z / a.alpha));
    case Act::relu6: return select(z <= 0.0f || z >= 6.0f, 0.0f, 1.0f);
    case Act::gelu:
        if (a.approximate == GeluApprox::none) {
            // Φ(z) + z φ(z) = d below 0 and 1 - d above, d = Q(|z|) - |z| φ(|z|).
            Expr d = math::NormalTail(Halide::abs(z)).q_minus_u_phi();
            return select(z < 0.0f, d, 1.0f - d);
        } else {
            // s = σ(2u) = (1 + t)/2 and 1 - s = σ(-2u), so 1 - t² = 4 s (1 - s).
            Expr u = kGeluTanhK * (z + kGeluTanhC * z * z * z);
            math::Sigmoid s(2.0f * u);
            return s.pos_times(1.0f + 2.0f * z * s.neg() * kGeluTanhK * (1.0f + 3.0f * kGeluTanhC * z * z));
        }
    case Act::silu: {
        math::Sigmoid s(z);
        return s.pos_times(1.0f + z * s.neg());
    }
    case Act::mish: {
        // t + z σ(z) (1 - t²) with t = n / (n + 2), n = e (2 + e), e = e^z (see the forward):
        // 1 - t² = 4 (n + 1) / (n + 2)² and σ(z) = e / (1 + e); e factored out, so that the
        // result underflows once. 1 in float above z = 20, but NaN at +inf (inf * 0, as the
        // formula gives).
        math::Exp e(z, kUsedAtMost20);
        Expr ez = e.value(), n = ez * (2.0f + ez), d = n + 2.0f;
        return select(z > 20.0f, 1.0f + z * 0.0f,
                      e.times((2.0f + ez) / d + 4.0f * z * (n + 1.0f) / ((1.0f + ez) * d * d)));
    }
    case Act::softplus: {
        Expr bz = a.beta * z;
        return select(bz > a.threshold, 1.0f, math::Sigmoid(bz).pos());
    }
    case Act::hardswish:
        return select(z < -3.0f, 0.0f, select(z < 3.0f, z / 3.0f + 0.5f, 1.0f));
    }
    unsupported("the derivative", a);
}

}  // namespace

Expr activation(const Activation &a, Expr z, Expr slope) {
    if (is_gelu_erf(a)) {
        // z + |z|: +inf at +inf, NaN at -inf (-inf · 0, as the formula gives) and at NaN.
        return strict_float(non_finite_case(z, z + Halide::abs(z), activation_value(a, z, slope)));
    }
    if (nan_in_predicate(a)) return strict_float(activation_value(a, z, slope));
    return strict_float(nan_case(z, z, activation_value(a, z, std::move(slope))));
}

// act'(NaN) of docs/numerics.md: the predicates' false branch (NaN itself for the smooth ones).
Expr derivative_at_nan(const Activation &a, const Expr &nan, const Expr &slope) {
    switch (a.kind) {
    case Act::leaky_relu: return Expr(a.slope);
    case Act::prelu: return slope;
    case Act::selu: return Expr(kSeluLambda);
    case Act::gelu:
    case Act::silu:
    case Act::mish:
    case Act::softplus: return nan;
    case Act::identity:
    case Act::relu:
    case Act::elu:
    case Act::celu:
    case Act::relu6:
    case Act::hardswish: return Expr(1.0f);
    }
    unsupported("the derivative at NaN", a);
}

Expr derivative(const Activation &a, Expr z, Expr slope) {
    // NaN at ±inf (±inf · 0 in z φ(z)) and at NaN.
    if (is_gelu_erf(a)) return strict_float(non_finite_case(z, z * 0.0f, derivative_value(a, z, slope)));
    if (nan_in_predicate(a)) return strict_float(derivative_value(a, z, slope));
    return strict_float(nan_case(z, derivative_at_nan(a, z, slope), derivative_value(a, z, slope)));
}

namespace {
Expr derivative_from_y_value(const Activation &a, const Expr &y) {
    // Below the kink y <= 0 exactly when z <= 0 (see derivative_from_y_allowed).
    switch (a.kind) {
    case Act::relu: return select(positive_or_nan(y), 1.0f, 0.0f);
    case Act::relu6: return select(y <= 0.0f || y >= 6.0f, 0.0f, 1.0f);
    case Act::leaky_relu: return select(positive_not_nan(y), 1.0f, a.slope);
    case Act::elu: return select(positive_or_nan(y), 1.0f, y + a.alpha);
    case Act::selu: return select(positive_or_nan(y), kSeluLambda, y + kSeluLambda * kSeluAlpha);
    case Act::celu: return select(positive_or_nan(y), 1.0f, y / a.alpha + 1.0f);
    case Act::identity:
    case Act::prelu:
    case Act::gelu:
    case Act::silu:
    case Act::mish:
    case Act::softplus:
    case Act::hardswish: break;
    }
    unsupported("the derivative from Y", a);
}
}  // namespace

Expr derivative_from_y(const Activation &a, Expr y) {
    // y is NaN exactly when z is.
    if (nan_in_predicate(a)) return strict_float(derivative_from_y_value(a, y));
    return strict_float(nan_case(y, derivative_at_nan(a, y, Expr()), derivative_from_y_value(a, y)));
}

Expr mask_bit(const Activation &a, Expr z) {
    // At NaN the bit is the predicate's value: set for relu and relu6, clear for leaky_relu.
    switch (a.kind) {
    case Act::relu: return positive_or_nan(z);
    case Act::leaky_relu: return positive_not_nan(z);
    case Act::relu6: return strict_float(is_nan_bits(z) || (z > 0.0f && z < 6.0f));
    case Act::identity:
    case Act::prelu:
    case Act::elu:
    case Act::selu:
    case Act::celu:
    case Act::gelu:
    case Act::silu:
    case Act::mish:
    case Act::softplus:
    case Act::hardswish: break;
    }
    unsupported("a bit mask", a);
}

Expr derivative_from_bit(const Activation &a, Expr bit) {
    switch (a.kind) {
    case Act::relu:
    case Act::relu6: return select(bit, 1.0f, 0.0f);
    case Act::leaky_relu: return select(bit, 1.0f, a.slope);
    case Act::identity:
    case Act::prelu:
    case Act::elu:
    case Act::selu:
    case Act::celu:
    case Act::gelu:
    case Act::silu:
    case Act::mish:
    case Act::softplus:
    case Act::hardswish: break;
    }
    unsupported("a bit mask", a);
}

Expr is_nonzero(Expr x) { return strict_float(is_nan_bits(x) || x != 0.0f); }

Expr prelu_slope_term(Expr z, Expr dy) {
    return strict_float(select(positive_not_nan(z), 0.0f, z * dy));
}

bool is_long_chain(const Activation &a) {
    switch (a.kind) {
    case Act::elu:
    case Act::selu:
    case Act::celu:
    case Act::gelu:
    case Act::silu:
    case Act::mish:
    case Act::softplus: return true;
    case Act::identity:
    case Act::relu:
    case Act::leaky_relu:
    case Act::prelu:
    case Act::relu6:
    case Act::hardswish: return false;
    }
    return false;
}

}  // namespace reluforge::gen
