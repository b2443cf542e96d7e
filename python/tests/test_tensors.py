"""Tensors by DLPack (and the buffer protocol for read-only NumPy arrays): zero-copy, with the C++
API's checks, each a reluforge.Error that names the argument."""
import numpy as np
import pytest

import reluforge

SPEC = "forward:relu:bias=0"


def layer(m=5, k=4, n=3):
    rng = np.random.default_rng(1)
    return (rng.standard_normal((m, k)).astype(np.float32), rng.standard_normal((k, n)).astype(np.float32),
            np.zeros((m, n), np.float32))


def test_zero_copy_outputs_land_in_the_callers_array():
    x, w, y = layer()
    before = y.__array_interface__["data"][0]
    reluforge.run_kernel(SPEC, [x, w, y])
    assert y.__array_interface__["data"][0] == before
    np.testing.assert_allclose(y, np.maximum(x @ w, 0), rtol=1e-5, atol=1e-6)


def test_row_strided_views_are_taken_as_they_are():
    x, w, y = layer(6, 8, 3)
    big = np.zeros((6, 16), np.float32)
    big[:, :8] = x
    out = np.full((6, 10), 9.0, np.float32)
    reluforge.run_kernel(SPEC, [big[:, :8], w, out[:, 2:5]])
    np.testing.assert_allclose(out[:, 2:5], np.maximum(x @ w, 0), rtol=1e-5, atol=1e-6)
    assert (out[:, :2] == 9).all() and (out[:, 5:] == 9).all()


def test_column_strided_and_transposed_arrays_are_refused():
    x, w, y = layer()
    with pytest.raises(reluforge.Error, match="argument 'w': elements along a row are 4 apart") as e:
        reluforge.run_kernel(SPEC, [x, np.ascontiguousarray(w.T).T, y])
    assert e.value.code == "bad_layout"
    with pytest.raises(reluforge.Error, match="argument 'x': elements along a row are 2 apart"):
        reluforge.run_kernel(SPEC, [np.zeros((5, 8), np.float32)[:, ::2], w, y])


def test_read_only_inputs_run_and_read_only_outputs_are_refused():
    x, w, y = layer()
    x.flags.writeable = False
    reluforge.run_kernel(SPEC, [x, w, y])
    np.testing.assert_allclose(y, np.maximum(x @ w, 0), rtol=1e-5, atol=1e-6)
    y.flags.writeable = False
    with pytest.raises(reluforge.Error, match="argument 'y': is read-only; an output must be writable"):
        reluforge.run_kernel(SPEC, [x, w, y])


def test_wrong_dtypes_are_named():
    x, w, y = layer()
    with pytest.raises(reluforge.Error, match="argument 'x': dtype float64 is not one reluforge takes") as e:
        reluforge.run_kernel(SPEC, [x.astype(np.float64), w, y])
    assert e.value.code == "bad_dtype"
    with pytest.raises(reluforge.Error, match="argument 'w'"):
        reluforge.run_kernel(SPEC, [x, w.astype(np.float16), y])  # f16 in an f32 kernel
    with pytest.raises(reluforge.Error, match="argument 'x': 3 dimensions"):
        reluforge.run_kernel(SPEC, [x[None], w, y])


def test_shapes_that_disagree_are_refused():
    x, w, y = layer()
    with pytest.raises(reluforge.Error) as e:
        reluforge.run_kernel(SPEC, [x, w, np.zeros((5, 4), np.float32)])
    assert e.value.code == "shape_mismatch"


def test_an_output_aliasing_an_input_is_refused():
    x = np.ones((4, 4), np.float32)
    with pytest.raises(reluforge.Error) as e:
        reluforge.run_kernel(SPEC, [x, np.eye(4, dtype=np.float32), x])
    assert e.value.code == "aliasing"


def test_zero_size_batches():
    x, w, y = np.zeros((0, 4), np.float32), np.ones((4, 3), np.float32), np.zeros((0, 3), np.float32)
    try:
        reluforge.run_kernel(SPEC, [x, w, y])
    except reluforge.Error as e:  # refused by name, never a crash
        assert e.code == "shape_mismatch" and "row extent 0" in str(e)


def test_what_is_not_an_array_and_argument_lists_that_do_not_fit():
    x, w, y = layer()
    with pytest.raises(reluforge.Error, match="argument 'x': a list is not an array"):
        reluforge.run_kernel(SPEC, [[1.0, 2.0], w, y])
    with pytest.raises(reluforge.Error, match="4 tensors for 'forward:relu:bias=0.*which takes 3: x, w, y"):
        reluforge.run_kernel(SPEC, [x, w, y, y])
    with pytest.raises(reluforge.Error, match="'bias' is not an argument of"):
        reluforge.run_kernel(SPEC, {"x": x, "w": w, "y": y, "bias": y})
    with pytest.raises(reluforge.Error, match="tensors are a list"):
        reluforge.run_kernel(SPEC, "xwy")
    with pytest.raises(reluforge.Error, match="argument 'y'"):
        reluforge.run_kernel(SPEC, [x, w, None])  # a required output not given
