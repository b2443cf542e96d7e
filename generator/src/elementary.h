// Elementary functions as Halide expressions for the activations: vectorizable, a few ulps from
// correctly rounded, IEEE at ±inf, and with gradual underflow: a result below FLT_MIN is rounded
// once to the nearest subnormal, as glibc's expf gives it, never flushed to 0 (docs/numerics.md).
// Halide 14's own exp returns 0 below FLT_MIN (x < -87.34) and clamps its argument (exp(+inf)
// came out finite), and it has no expm1, log1p or erf.
//
// Callers wrap them in strict_float, which keeps LLVM from reassociating the
// cancellation-sensitive steps (u - 1 in log1p).
#pragma once

#include <Halide.h>

namespace reluforge::gen::math {

// e^x held as head · scale, head a normal float: m · e^x then rounds once, in the last multiply,
// so a product with a subnormal result (z e^z, say) keeps every bit gradual underflow allows.
// m e^x is 0 below x = -131 (right for |m| < 2^39: every m here is a constant, bounded, or at
// most about |x|).
class Exp {
public:
    // Where x <= 43 (or where the result for x > 43 is not used) and |m| e^x < 2^60, the scale
    // is a constant and the exp costs about as much as Halide's: the argument of most
    // activations' exps is never positive. Range::any takes every x, at three more integer
    // operations and an overflow test.
    enum class Range { at_most_43, any };
    explicit Exp(const Halide::Expr &x, Range range = Range::any);
    Halide::Expr value() const { return times(1.0f); }
    Halide::Expr times(const Halide::Expr &m) const;

private:
    Halide::Expr x_, head_, scale_;
    Range range_;
};

inline Halide::Expr exp(const Halide::Expr &x) { return Exp(x).value(); }
// e^x for x <= 43 (or where the result beyond is not used).
inline Halide::Expr exp_at_most_43(const Halide::Expr &x) { return Exp(x, Exp::Range::at_most_43).value(); }
Halide::Expr expm1(const Halide::Expr &x, Exp::Range range = Exp::Range::any);
Halide::Expr log1p(const Halide::Expr &x);
// The standard normal distribution's upper tail Q(u) = Φ(-u) and density φ(u), for u >= 0 (and
// finite: callers give ±inf and NaN their own values), from one exp: Q(u) = G(s) e^(-u²/2), G a
// fit of the Mills ratio over √(2π). Each result is rounded once where it underflows.
class NormalTail {
public:
    explicit NormalTail(const Halide::Expr &u);
    Halide::Expr q_times(const Halide::Expr &m) const;  // m Q(u), for 0 <= m <= u
    Halide::Expr q_minus_u_phi() const;                 // Q(u) - u φ(u)

private:
    Halide::Expr u_, g_, head_;
};

// σ(x) and σ(-x) = 1 - σ(x) from one exp of -|x|: 1/(1 + e) and e/(1 + e) neither cancel nor
// overflow, so σ(-x) underflows gradually (σ(-89) = 2.2e-39, where 1/(1 + exp(89)) is 0).
class Sigmoid {
public:
    explicit Sigmoid(const Halide::Expr &x);
    Halide::Expr pos() const { return pos_times(1.0f); }  // σ(x)
    Halide::Expr neg() const;                             // σ(-x)
    Halide::Expr pos_times(const Halide::Expr &m) const;  // m σ(x), rounded once where it underflows

private:
    Halide::Expr negative_, exp_, big_, small_;
    Exp e_;
};

}  // namespace reluforge::gen::math
