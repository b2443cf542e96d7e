#!/usr/bin/env python3
"""The constants of generator/src/elementary.cpp's NormalTail, fitted again.

G(s) = Q(u) e^(u^2/2), Q(u) = Phi(-u), as a polynomial in s = u / (1 + C u) over u in [0, 15],
and 2^f as a polynomial over f in [-1/2, 1/2]: near-minimax in relative error by Lawson's
iteratively reweighted least squares on Chebyshev nodes, Q from mpmath at 40 digits.

    /usr/bin/python3 tools/fits/normal_tail.py [--scan]   (Debian: python3-numpy python3-mpmath)

Prints each polynomial's coefficients, highest power first (the order horner() takes), as float
literals, and the largest relative error of the float64 fit; --scan tries C from 0.20 to 0.44.
"""
import sys

import mpmath
import numpy as np

mpmath.mp.dps = 40
U_MAX = 15.0  # beyond, |z| Q(|z|) < 2^-150: gelu rounds to max(z, 0) and gelu' to 0 or 1


def lawson(x, y, lo, hi, degree, iterations=200):
    """Coefficients (lowest power first) and the largest relative error."""
    basis = np.polynomial.chebyshev.chebvander((2 * x - (lo + hi)) / (hi - lo), degree)
    weights = np.full(len(x), 1.0 / len(x))
    best = None
    for _ in range(iterations):
        scale = np.sqrt(weights) / np.abs(y)
        coef, *_ = np.linalg.lstsq(basis * scale[:, None], y * scale, rcond=None)
        relative = (basis @ coef - y) / y
        worst = np.max(np.abs(relative))
        if best is None or worst < best[1]:
            best = (coef, worst)
        weights *= np.abs(relative)
        weights /= weights.sum()
    series = np.polynomial.Chebyshev(best[0], domain=[lo, hi])
    return series.convert(kind=np.polynomial.Polynomial).coef, best[1]


def chebyshev_nodes(lo, hi, n):
    return np.cos(np.linspace(0, np.pi, n)) * (hi - lo) / 2 + (hi + lo) / 2


def fit_tail(c, degree=8, n=3000):
    s_max = U_MAX / (1 + c * U_MAX)
    s = chebyshev_nodes(0.0, s_max, n)
    u = s / (1 - c * s)
    g = np.array([float(mpmath.ncdf(-mpmath.mpf(v)) * mpmath.exp(mpmath.mpf(v) ** 2 / 2)) for v in u])
    return lawson(s, g, 0.0, s_max, degree)


def literals(coef):
    return ", ".join(f"{np.float32(v):.9g}f" for v in coef[::-1])


def main():
    if "--scan" in sys.argv:
        for c in np.arange(0.20, 0.45, 0.02):
            print(f"C = {c:.2f}: {fit_tail(c, n=1500)[1]:.3g}")
        return
    coef, worst = fit_tail(0.3)
    print(f"G(s), C = 0.3, degree 8, relative error {worst:.3g}:\n  {literals(coef)}")
    f = chebyshev_nodes(-0.5, 0.5, 4000)
    coef, worst = lawson(f, 2.0**f, -0.5, 0.5, 5)
    print(f"2^f, degree 5, relative error {worst:.3g}:\n  {literals(coef)}")


if __name__ == "__main__":
    main()
