"""reluforge: fused matmul + bias + activation kernels, forward and backward, on NumPy and PyTorch
tensors (anything that speaks DLPack) without copies.

    import numpy as np, reluforge
    x = np.random.rand(64, 32).astype(np.float32)
    w = np.random.rand(32, 16).astype(np.float32)
    b = np.zeros(16, np.float32)
    y = np.empty((64, 16), np.float32)
    reluforge.run_kernel("forward:gelu:bias=1", [x, w, b, y])

The numerics every kernel computes: docs/numerics.md.
"""
from ._reluforge import (Error, Spec, __version__, canonical, find_kernel, host_isa, jit, kernel_policy,
                         mask_bit_byte, mask_bit_shift, mask_bytes_per_row, mask_row_bytes, num_threads,
                         pack_weights, packed_weight_shape, parse_spec, run_kernel, set_kernel_policy,
                         set_num_threads, signature)

__all__ = ["Error", "Spec", "__version__", "canonical", "find_kernel", "host_isa", "jit", "kernel_policy",
           "mask_bit_byte", "mask_bit_shift", "mask_bytes_per_row", "mask_row_bytes", "num_threads",
           "pack_weights", "packed_weight_shape", "parse_spec", "run_kernel", "set_kernel_policy",
           "set_num_threads", "signature"]
