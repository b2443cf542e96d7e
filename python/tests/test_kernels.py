"""Every activation forward and backward through Python, against the double-precision reference
with the contract's tolerances, NaN and +-Inf rows included, on sizes that are not multiples of
any vector width or tile."""
import numpy as np
import pytest

import _reluforge_reference as ref
import reluforge
from conftest import ACTIVATIONS, EVAL, SHAPES, assert_close, forward_reference, uniform, with_specials


def slopes_for(act, n, rng):
    if not act.startswith("prelu"):
        return None
    return uniform(rng, n if "per_column" in act else 1, 0.0, 0.5)


def reference_by_column(fn, act, z, slopes, *extra):
    """fn(act, z[:, c], slope_c, *extra) per column, for PReLU's slopes; one call otherwise."""
    if slopes is None:
        return fn(act, z, *extra) if extra else fn(act, z)
    out = np.empty_like(z)
    for c in range(z.shape[1]):
        out[:, c] = fn(act, z[:, c], float(slopes[c if slopes.size > 1 else 0]))
    return out


@pytest.mark.parametrize("act", ACTIVATIONS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("weight", ["kn", "nk"])
def test_forward_matches_the_reference(act, shape, weight):
    m, k, n = shape
    rng = np.random.default_rng(hash((act, shape, weight)) % 2**32)
    x = with_specials(uniform(rng, (m, k)))
    w_kn = uniform(rng, (k, n))
    w = w_kn if weight == "kn" else np.ascontiguousarray(w_kn.T)
    b = uniform(rng, n)
    slopes = slopes_for(act, n, rng)
    y, z = np.full((m, n), -7, np.float32), np.full((m, n), -7, np.float32)
    tensors = {"x": x, "w": w, "b": b, "y": y}
    save = "none" if act == "identity" else "z"  # identity saves nothing: Y is Z
    if save == "z":
        tensors["z"] = z
    if slopes is not None:
        tensors["slope"] = slopes
    reluforge.run_kernel(f"forward:{act}:bias=1:weight={weight}:save={save}", tensors)

    zr, bz, yr, by = forward_reference(act, x, w_kn, b)
    if slopes is not None:
        yr = reference_by_column(ref.act, act, zr, slopes)
    if save == "z":
        assert_close(z, zr, bz, "z")
    assert_close(y, yr, by, "y")


@pytest.mark.parametrize("act", [a for a in ACTIVATIONS if a != "identity"])
def test_activation_backward_matches_the_reference(act):
    m, n = 67, 45
    rng = np.random.default_rng(abs(hash(act)) % 2**32)
    z = uniform(rng, (m, n), -4, 4)
    z[0, :3] = [0.0, -0.0, 6.0]  # the kinks
    dy = uniform(rng, (m, n))
    slopes = slopes_for(act, n, rng)
    dz, db = np.full((m, n), -7, np.float32), np.full(n, -7, np.float32)
    tensors = {"dy": dy, "z": z, "dz": dz, "db": db}
    if slopes is not None:
        tensors["slope"] = slopes
        tensors["dslope"] = np.zeros(slopes.size, np.float32)
    reluforge.run_kernel(f"activation_backward:{act}:bias=1:save=z", tensors)

    z64, dy64 = z.astype(np.float64), dy.astype(np.float64)
    g = reference_by_column(ref.grad, act, z64, slopes)
    g2 = reference_by_column(ref.grad2, act, z64, slopes)
    rdz = dy64 * g
    tol = EVAL * (np.abs(rdz) + np.abs(dy64 * z64 * g2)) + 1e-30
    assert_close(dz, rdz, tol, "dz")
    assert_close(db, rdz.sum(axis=0), ref.reduction_bound(m, np.abs(rdz).sum(axis=0)) + tol.sum(axis=0), "db")


@pytest.mark.parametrize("weight", ["kn", "nk"])
def test_backward_data_and_weight_match_the_reference(weight):
    m, k, n = 67, 33, 45
    rng = np.random.default_rng(7)
    x, dz, w_kn = uniform(rng, (m, k)), uniform(rng, (m, n)), uniform(rng, (k, n))
    w = w_kn if weight == "kn" else np.ascontiguousarray(w_kn.T)
    dx, dw, db = np.empty((m, k), np.float32), np.empty_like(w), np.empty(n, np.float32)
    reluforge.run_kernel(f"backward_data:identity:prev_bias=0:weight={weight}", {"dz": dz, "w": w, "dx": dx})
    reluforge.run_kernel(f"backward_weight:bias=1:weight={weight}", {"x": x, "dz": dz, "dw": dw, "db": db})
    x64, dz64, w64 = x.astype(np.float64), dz.astype(np.float64), w_kn.astype(np.float64)
    assert_close(dx, dz64 @ w64.T, ref.reduction_bound(n, np.abs(dz64) @ np.abs(w64.T)), "dx")
    dw_kn = dw if weight == "kn" else dw.T
    assert_close(dw_kn, x64.T @ dz64, ref.reduction_bound(m, np.abs(x64.T) @ np.abs(dz64)), "dw")
    assert_close(db, dz64.sum(axis=0), ref.reduction_bound(m, np.abs(dz64).sum(axis=0)), "db")


def test_f16_storage_runs_on_numpy_half_arrays():
    m, k, n = 37, 50, 29
    rng = np.random.default_rng(3)
    x, w, b = uniform(rng, (m, k)).astype(np.float16), uniform(rng, (k, n)).astype(np.float16), uniform(rng, n)
    y = np.empty((m, n), np.float16)
    reluforge.run_kernel("forward:relu:bias=1:dtype=f16", [x, w, b, y])
    z = x.astype(np.float64) @ w.astype(np.float64) + b
    want = np.maximum(z, 0)
    # f16 storage: the result's own rounding (2^-11 relative) on top of f16-scaled reduction bounds.
    bound = 2.0 ** -11 * np.abs(want) + ref.reduction_bound(k + 1, np.abs(x.astype(np.float64)) @ np.abs(w.astype(np.float64)) + np.abs(b)) * 2.0 ** 13
    assert_close(y.astype(np.float64), want, bound, "y")


def test_mask_and_counts_of_a_relu_layer():
    m, k, n = 37, 20, 29
    rng = np.random.default_rng(5)
    x, w = uniform(rng, (m, k)), uniform(rng, (k, n))
    y = np.empty((m, n), np.float32)
    mask_rows = np.full((m, reluforge.mask_row_bytes(n)), 0xA5, np.uint8)
    mask = mask_rows[:, : reluforge.mask_bytes_per_row(n)]
    counts = np.full(n, -1, np.int32)
    reluforge.run_kernel("forward:relu:bias=0:save=mask:counts=1", {"x": x, "w": w, "y": y, "mask": mask, "counts": counts})
    z = x.astype(np.float64) @ w.astype(np.float64)
    # Column c is bit (c % 128) // 16 of byte 16 * (c // 128) + c % 16 (groups of 128 columns).
    cols = np.arange(reluforge.mask_bytes_per_row(n) * 8)
    all_bits = (mask[:, cols // 128 * 16 + cols % 16] >> ((cols % 128) // 16)) & 1
    assert (all_bits[:, n:] == 0).all()  # columns past n
    bits = all_bits[:, :n]
    clear = np.abs(z) > ref.reduction_bound(k, np.abs(x.astype(np.float64)) @ np.abs(w.astype(np.float64)))
    assert (bits[clear] == (z[clear] > 0)).all()
    assert (mask_rows[:, reluforge.mask_bytes_per_row(n):] == 0xA5).all()  # the padding is untouched
    assert (np.abs(counts - (z > 0).sum(axis=0)) <= (~clear).sum(axis=0)).all()


@pytest.mark.parametrize("layout", ["kn", "nk"])
def test_forward_over_packed_weights_gives_the_bits_of_weight_kn(layout):
    m, k, n = 37, 50, 48
    rng = np.random.default_rng(5)
    x, w_kn, b = uniform(rng, (m, k)), uniform(rng, (k, n)), uniform(rng, n)
    packed = np.full(reluforge.packed_weight_shape(k, n), -7, np.float32)
    assert packed.shape == (3, 16 * k)
    reluforge.pack_weights(w_kn if layout == "kn" else np.ascontiguousarray(w_kn.T), layout, packed)
    assert packed[1, 16 * 2 + 3] == w_kn[2, 19]
    want, got = np.empty((m, n), np.float32), np.empty((m, n), np.float32)
    reluforge.run_kernel("forward:relu:bias=1:weight=kn", {"x": x, "w": w_kn, "b": b, "y": want})
    reluforge.run_kernel("forward:relu:bias=1:weight=packed", {"x": x, "w": packed, "b": b, "y": got})
    assert np.array_equal(got.view(np.uint32), want.view(np.uint32))
    with pytest.raises(reluforge.Error, match="packs into"):
        reluforge.pack_weights(w_kn, layout, np.empty((2, 16 * k), np.float32))
