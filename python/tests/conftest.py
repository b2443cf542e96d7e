"""Shared helpers of the Python tests: inputs with the special values the contract covers, and the
double-precision reference (tests/reference, through _reluforge_reference) with the contract's
tolerances (docs/numerics.md)."""
import numpy as np
import pytest

import _reluforge_reference as ref

ULP = 2.0 ** -24
EVAL = 16 * ULP  # an activation's own rounding, as tests/support/compare.h allows it

ACTIVATIONS = ["identity", "relu", "leaky_relu(slope=0.01)", "prelu(slopes=per_column)", "elu(alpha=1)", "selu",
               "celu(alpha=1)", "relu6", "gelu(approximate=none)", "gelu(approximate=tanh)", "silu", "mish",
               "softplus(beta=1,threshold=20)", "hardswish"]

# Sizes that are not multiples of any vector width or tile.
SHAPES = [(1, 1, 1), (37, 50, 29), (67, 33, 131)]


def uniform(rng, shape, lo=-1.0, hi=1.0):
    return rng.uniform(lo, hi, shape).astype(np.float32)


def with_specials(x):
    """Rows 0..2 of x start with NaN, +Inf, -Inf (where x has the rows)."""
    for row, value in enumerate([np.nan, np.inf, -np.inf][: x.shape[0]]):
        x[row, 0] = value
    return x


def assert_close(got, want, bound, what):
    """Non-finite references match by class, finite ones within bound (elementwise)."""
    got = np.asarray(got, np.float64)
    nan, inf = np.isnan(want), np.isinf(want)
    finite = ~(nan | inf)
    with np.errstate(invalid="ignore"):  # got - want where want is infinite: decided by class instead
        ok = np.where(nan, np.isnan(got), np.where(inf, got == want, np.isfinite(got) & (np.abs(got - want) <= bound)))
    if not ok.all():
        bad = np.argwhere(~ok)[:5]
        lines = [f"{what}{tuple(i)}: got {got[tuple(i)]!r} want {want[tuple(i)]!r} bound {np.broadcast_to(bound, want.shape)[tuple(i)]:.3g}"
                 for i in bad]
        pytest.fail(f"{(~ok).sum()} of {ok.size} wrong:\n" + "\n".join(lines))
    assert finite.any() or nan.any() or inf.any()


def forward_reference(act, x, w_kn, b, slope=0.25):
    """Z, its bound, Y and Y's bound in double: docs/numerics.md's forward contract."""
    x64, w64 = x.astype(np.float64), w_kn.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        z = x64 @ w64 + (b.astype(np.float64) if b is not None else 0.0)
        mag = np.abs(x64) @ np.abs(w64) + (np.abs(b.astype(np.float64)) if b is not None else 0.0)
    bz = ref.reduction_bound(x.shape[1] + 1, mag)
    y = ref.act(act, z, slope)
    with np.errstate(invalid="ignore"):
        g = np.maximum.reduce([np.abs(ref.grad(act, z, slope)), np.abs(ref.grad(act, z - bz, slope)),
                               np.abs(ref.grad(act, z + bz, slope))])
        carried = np.where(np.isfinite(z), (bz + EVAL * np.abs(z)) * g, 0.0)
        by = carried + EVAL * np.abs(np.nan_to_num(y)) + 1e-30
    return z, bz, y, by
