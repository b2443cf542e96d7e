#include "elementary.h"

#include "reluforge/generator/target_math.h"

#include <iterator>
#include <limits>

namespace reluforge::gen::math {

using Halide::Expr;
using Halide::select;

namespace {
constexpr float kOverflow = 88.7228394f;  // e^x > FLT_MAX above
constexpr float kUnderflow = -131.0f;     // m e^x < 2^-150 below (rounds to 0), for |m| < 2^39
constexpr float kLog2e = 1.44269504088896341f, kLn2Hi = 0.693145751953125f, kLn2Lo = 1.42860676533018e-06f;

// Fused where the target has FMA: fewer instructions (the polynomials' steps were half the vector
// operations of gelu's epilogue) and one rounding per step instead of two.
Expr horner(const Expr &x, std::initializer_list<float> coefficients) {
    Expr p;
    for (float c : coefficients) p = p.defined() ? fused_multiply_add(p, x, c) : Expr(c);
    return p;
}

Expr two_to(const Expr &n) { return Halide::reinterpret<float>((n + 127) << 23); }
}  // namespace

// e^x = 2^k p(r), k = round(x / ln2), r = x - k ln2 in [-ln2/2, ln2/2] (ln2 split in two so that
// k ln2_hi is exact), p a degree-6 fit of e^r at Chebyshev nodes (2e-8 relative; 1.5 ulp after
// float rounding, against Halide's 1.3 with one more term). The two steps of r are opaque
// fused_multiply_adds: written as subtractions, they sat in expressions Halide's CSE lifts out of
// strict_float, and its simplifier merged them into x - k·fl(ln2) (|k| · 1.9e-9 off, up to 6 ulps
// of e^x at k = -189).
Exp::Exp(const Expr &x, Range range) : x_(x), range_(range) {
    // Clamped so that the conversion to int is defined for every finite x and k stays where the
    // scales below are normal floats; times() gives the results beyond.
    Expr xc = Halide::clamp(x, kUnderflow, range == Range::any ? 100.0f : 43.0f);
    Expr k = round_down(xc * kLog2e + 0.5f);
    Expr r = fused_multiply_add(k, -kLn2Lo, fused_multiply_add(k, -kLn2Hi, xc));
    Expr p = horner(r, {1.3941108481958508e-03f, 8.37512593716383e-03f, 4.166635125875473e-02f,
                        1.6666415333747864e-01f, 0.5f, 1.0f, 1.0f});
    Expr ki = Halide::cast<int32_t>(k);
    if (range == Range::at_most_43) {
        // k in [-189, 62]: p 2^(k+64) is a normal float, and the constant 2^-64 takes it back,
        // with one rounding where the result is subnormal.
        head_ = p * two_to(ki + 64);
        scale_ = Expr(0x1p-64f);
    } else {
        // k in [-189, 144] in two halves, each a normal float's exponent.
        Expr half = ki / 2;
        head_ = p * two_to(half);
        scale_ = two_to(ki - half);
    }
}

Expr Exp::times(const Expr &m) const {
    const float inf = std::numeric_limits<float>::infinity();
    Expr e = select(x_ < kUnderflow, m * 0.0f, (m * head_) * scale_);
    // The split scales overflow to inf by themselves; the constant one needs telling.
    return range_ == Range::any ? select(x_ > kOverflow, m * inf, e) : e;
}

// e^x - 1 = 2^k (e^r - 1) + (2^k - 1), k and r as in Exp, e^r - 1 = r q(r) the Taylor series to
// r^8/8! (truncation below 3e-10 relative for |r| <= ln2/2): no cancellation where k = 0 (|x| <
// ln2/2, r = x exactly), and one rounding to combine the two terms elsewhere. Where x <= 43 is all
// that is used, x is clamped to [-30, 43] (e^x - 1 is -1 in float below -17.3), 2^k a normal
// float: one exp's work where the series and e^x - 1 were each computed and one selected.
// reluforge-epilogue-bench, AVX-512, AMD EPYC Zen 4: elu 0.42 -> 0.31 ns per element, selu 0.51
// -> 0.37. Otherwise (celu, whose α may be negative) the series below ln2/2 and e^x - 1 beyond
// (at most ~1.5 bits lost there), with Exp's overflow.
Expr expm1(const Expr &x, Exp::Range range) {
    auto series = [](const Expr &r) {
        return horner(r, {1.0f / 40320.0f, 1.0f / 5040.0f, 1.0f / 720.0f, 1.0f / 120.0f, 1.0f / 24.0f, 1.0f / 6.0f,
                          0.5f, 1.0f}) * r;
    };
    if (range == Exp::Range::any) return select(Halide::abs(x) < 0.34657359f, series(x), Exp(x, range).value() - 1.0f);
    Expr xc = Halide::clamp(x, -30.0f, 43.0f);
    Expr k = round_down(xc * kLog2e + 0.5f);
    Expr r = fused_multiply_add(k, -kLn2Lo, fused_multiply_add(k, -kLn2Hi, xc));
    Expr scale = two_to(Halide::cast<int32_t>(k));
    return fused_multiply_add(scale, series(r), scale - 1.0f);
}

// Below 1/16 the series to x^7/7 (truncation under 1e-9 relative): Halide's log(1 + x) is not
// accurate relative to a tiny result. Above, log(u) x / (u - 1) with u = 1 + x rounded
// (Goldberg), a few ulps.
Expr log1p(const Expr &x) {
    Expr p = horner(x, {1.0f / 7.0f, -1.0f / 6.0f, 1.0f / 5.0f, -0.25f, 1.0f / 3.0f, -0.5f, 1.0f});
    Expr u = 1.0f + x;
    return select(Halide::abs(x) < 0.0625f, p * x, Halide::log(u) * x / (u - 1.0f));
}

// y = -u² log2(e)/2, so that e^(-u²/2) = 2^y; y's rounding (|y|/2 ulps of 2^y) is what 16 ulps
// of z carry through the result's tail (docs/numerics.md), so no split constant is needed. 2^y =
// 2^k p(y - k), p a degree-5 fit of 2^f on [-1/2, 1/2] at 7.5e-8 relative; held as head · 2^-64,
// y clamped to -165 (a head 2^-101 times a bounded G: 0 after the scale), so that head is a
// normal float and a product with it rounds once where it underflows.
NormalTail::NormalTail(const Expr &u) : u_(u) {
    // G(s) = Q(u) e^(u²/2) in s = u/(1 + 0.3u), a degree-8 fit over u in [0, 15] at 5.8e-8
    // relative (tools/fits/normal_tail.py: 0.3 was the best of 0.2-0.44 in steps of 0.02).
    // Q(15) e^(112.5) is far below 2^-150: the fit need not reach further.
    Expr s = u / fused_multiply_add(u, 0.3f, 1.0f);
    g_ = horner(s, {2.52107998e-06f, -3.01823202e-05f, 8.69540891e-05f, 2.61767826e-04f, -3.59493977e-04f,
                    -1.89362466e-02f, 1.30331278e-01f, -3.98943812e-01f, 0.5f});
    Expr y = Halide::max(u * (u * -0.721347511f), -165.0f);
    Expr k = round_down(y + 0.5f);
    Expr p = horner(y - k, {1.32764713e-03f, 9.67554189e-03f, 5.55071309e-02f, 2.40221202e-01f, 6.93146944e-01f,
                            1.00000012f});
    head_ = p * two_to(Halide::cast<int32_t>(k) + 64);
}

Expr NormalTail::q_times(const Expr &m) const { return ((m * g_) * head_) * 0x1p-64f; }

Expr NormalTail::q_minus_u_phi() const {
    constexpr float kInvSqrt2Pi = 0.398942292f;
    return (head_ * fused_multiply_add(-u_, kInvSqrt2Pi, g_)) * 0x1p-64f;
}

Sigmoid::Sigmoid(const Expr &x) : negative_(x < 0.0f), e_(-Halide::abs(x), Exp::Range::at_most_43) {
    exp_ = e_.value();
    big_ = 1.0f / (1.0f + exp_);
    small_ = exp_ * big_;
}

Expr Sigmoid::neg() const { return select(negative_, big_, small_); }

Expr Sigmoid::pos_times(const Expr &m) const { return select(negative_, e_.times(m * big_), m * big_); }

}  // namespace reluforge::gen::math
