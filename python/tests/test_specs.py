"""Specs, errors and what the module reports: the same vocabulary as the C++ API."""
import pytest

import reluforge


def test_canonical_text_and_fields():
    spec = reluforge.parse_spec("forward : gelu(approximate=tanh) : weight=nk")
    assert str(spec) == "forward:gelu(approximate=tanh):bias=1:weight=nk:save=none:counts=0:dtype=f32"
    assert reluforge.canonical("forward:relu") == "forward:relu:bias=1:weight=kn:save=none:counts=0:dtype=f32"
    assert (spec.op, spec.activation, spec.weight, spec.dtype) == ("forward", "gelu(approximate=tanh)", "nk", "f32")
    assert reluforge.Spec(str(spec)) == spec and hash(reluforge.Spec(str(spec))) == hash(spec)


def test_bad_spec_is_a_python_exception_with_reluforge_message():
    with pytest.raises(reluforge.Error, match="activation 'relux' is not one of") as e:
        reluforge.parse_spec("forward:relux")
    assert e.value.code == "bad_spec"
    assert isinstance(e.value, RuntimeError)
    with pytest.raises(reluforge.Error, match="save=mask"):
        reluforge.parse_spec("forward:gelu:save=mask")
    with pytest.raises(reluforge.Error, match="a spec is a str or a reluforge.Spec, not a int"):
        reluforge.signature(3)


def test_signature_lists_the_tensors_in_call_order():
    names = [(s["name"], s["output"], s["shape"]) for s in reluforge.signature("forward:relu:bias=1:save=mask")]
    assert names[0] == ("x", False, "[M,K]")
    assert ("y", True, "[M,N]") in names
    assert [s for s in reluforge.signature("forward:relu:save=mask") if s["mask"]][0]["dtype"] == "u8"


def test_find_kernel_says_where_a_kernel_comes_from():
    info = reluforge.find_kernel("forward:relu:bias=0", m=256, n=64, k=32)
    assert info["source"] in ("aot", "jit")
    assert info["device"] == "cpu"
    assert info["isa"] == reluforge.host_isa()
    assert isinstance(info["variant"], str)
    with pytest.raises(reluforge.Error, match="device 'tpu' is not one of"):
        reluforge.find_kernel("forward:relu", device="tpu")


def test_threads_and_policy():
    before = reluforge.num_threads()
    reluforge.set_num_threads(1)
    assert reluforge.num_threads() == 1
    reluforge.set_num_threads(before)
    assert reluforge.kernel_policy() == "jit_allowed"
    with pytest.raises(reluforge.Error, match="kernel policy 'sometimes'"):
        reluforge.set_kernel_policy("sometimes")


def test_jit_options_after_the_first_kernel_are_refused_by_name():
    reluforge.find_kernel("forward:relu")  # starts the JIT with its defaults
    with pytest.raises(reluforge.Error, match="call reluforge.jit.enable before the first kernel"):
        reluforge.jit.enable(cache_dir="/tmp/elsewhere")
    stats = reluforge.jit.stats()
    assert set(stats) >= {"compiled", "loaded_from_disk", "memory_hits"}


def test_masks_rows_are_64_byte_aligned():
    assert reluforge.mask_bytes_per_row(29) == 16
    assert reluforge.mask_bytes_per_row(129) == 32
    assert reluforge.mask_row_bytes(29) == 64
    assert reluforge.mask_row_bytes(513) == 128
    # The layout docs/numerics.md writes down: groups of 128 columns, 16 bytes each.
    for col, byte, shift in [(0, 0, 0), (15, 15, 0), (16, 0, 1), (127, 15, 7), (128, 16, 0), (300, 44, 2)]:
        assert (reluforge.mask_bit_byte(col), reluforge.mask_bit_shift(col)) == (byte, shift)
