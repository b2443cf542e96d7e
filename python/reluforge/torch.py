"""reluforge.torch.Linear: a fused matmul + bias + activation layer for PyTorch, forward and backward
through reluforge's kernels.

    layer = reluforge.torch.Linear(784, 1024, activation="gelu")
    y = layer(x)                      # x [..., 784] float32 on the CPU
    y.sum().backward()                # dX, dW, db (and PReLU's slope gradient) by the kernels

The weight is [out_features, in_features] as in torch.nn.Linear (spec weight=nk), initialised
the same way; the forward saves what the activation's backward needs (a bit mask for relu,
leaky_relu and relu6, Z otherwise), and nothing under torch.no_grad().
"""
import math

import torch

from . import _reluforge as _rf


def _mask_like(rows, cols):
    """A bit mask for [rows, cols]: rows 64-byte aligned, as the kernels want them."""
    storage = torch.empty((rows, _rf.mask_row_bytes(cols)), dtype=torch.uint8)
    return storage[:, : _rf.mask_bytes_per_row(cols)]


class _Kernels:
    """The specs of one layer's kernels."""

    def __init__(self, activation, bias):
        forward = _rf.parse_spec(f"forward:{activation}:bias={int(bias)}:weight=nk")
        self.activation = forward.activation
        self.identity = self.activation == "identity"
        self.prelu = self.activation.startswith("prelu")
        self.bias = bias
        self.save = _rf.default_save(self.activation)
        self.forward_saving = f"forward:{self.activation}:bias={int(bias)}:weight=nk:save={self.save}"
        self.forward_only = f"forward:{self.activation}:bias={int(bias)}:weight=nk:save=none"
        self.activation_backward = f"activation_backward:{self.activation}:bias={int(bias)}:save={self.save}"
        self.backward_data = "backward_data:identity:prev_bias=0:weight=nk"
        # With an activation, db comes from activation_backward; without one, from backward_weight.
        self.backward_weight = f"backward_weight:bias={int(bias and self.identity)}:weight=nk"


def _check_float32(name, t):
    if t.dtype != torch.float32:
        raise TypeError(f"reluforge.torch.Linear: {name} is {t.dtype}; its kernels run float32 tensors "
                        f"(float64 has no kernels: gradcheck in float32 with the contract's tolerances)")
    if t.device.type != "cpu":
        raise TypeError(f"reluforge.torch.Linear: {name} is on {t.device}; the kernels run on the CPU")


class _LinearFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, slope, kernels, saving):
        # Tensors that require grad do not export through DLPack: the kernels see detached views.
        m, n = x.shape[0], weight.shape[0]
        y = torch.empty((m, n), dtype=torch.float32)
        tensors = {"x": x.detach(), "w": weight.detach(), "y": y}
        if kernels.bias:
            tensors["b"] = bias.detach()
        if kernels.prelu:
            tensors["slope"] = slope.detach()
        saving = saving and not kernels.identity
        aux = None
        if saving:
            aux = _mask_like(m, n) if kernels.save == "mask" else torch.empty((m, n), dtype=torch.float32)
            tensors[kernels.save] = aux
        _rf.run_kernel(kernels.forward_saving if saving else kernels.forward_only, tensors)
        ctx.kernels = kernels
        ctx.aux = aux  # a mask is a strided view: kept as it is rather than through save_for_backward
        ctx.save_for_backward(x, weight, slope)
        return y

    @staticmethod
    def backward(ctx, dy):
        x, weight, slope = (t.detach() if t is not None else None for t in ctx.saved_tensors)
        k = ctx.kernels
        dy = dy.contiguous()
        m, n = dy.shape
        db = torch.empty(n, dtype=torch.float32) if k.bias else None
        dslope = torch.zeros_like(slope) if k.prelu else None
        if k.identity:
            dz = dy
        else:
            dz = torch.empty((m, n), dtype=torch.float32)
            tensors = {"dy": dy, k.save: ctx.aux, "dz": dz}
            if k.bias:
                tensors["db"] = db
            if k.prelu:
                tensors["slope"] = slope.detach()
                tensors["dslope"] = dslope
            _rf.run_kernel(k.activation_backward, tensors)
        dx = dw = None
        if ctx.needs_input_grad[0]:
            dx = torch.empty_like(x)
            _rf.run_kernel(k.backward_data, {"dz": dz, "w": weight.detach(), "dx": dx})
        if ctx.needs_input_grad[1] or (k.identity and k.bias):
            dw = torch.empty_like(weight)
            tensors = {"x": x, "dz": dz, "dw": dw}
            if k.identity and k.bias:
                tensors["db"] = db
            _rf.run_kernel(k.backward_weight, tensors)
        return dx, dw, db, dslope, None, None


def _apply(kernels, x, weight, bias, slope):
    _check_float32("the input", x)
    _check_float32("the weight", weight)
    if weight.dim() != 2 or x.shape[-1] != weight.shape[1]:
        raise ValueError(f"reluforge.torch: input has {x.shape[-1]} features, the weight "
                         f"{list(weight.shape)} takes {weight.shape[1] if weight.dim() == 2 else '?'}")
    rows = x.reshape(-1, weight.shape[1]).contiguous()
    # Inside an autograd.Function grad mode is off: whether backward will run is decided here.
    saving = torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in (x, weight, bias, slope))
    y = _LinearFunction.apply(rows, weight.contiguous(), bias, slope, kernels, saving)
    return y.reshape(*x.shape[:-1], weight.shape[0])


_kernels_by_layer = {}


def linear(x, weight, bias=None, activation="relu", slope=None):
    """activation(x weight^T + bias), functional, with autograd: weight [out, in]; slope is PReLU's
    ([1], or [out] for prelu(slopes=per_column))."""
    key = (activation, bias is not None)
    if key not in _kernels_by_layer:
        _kernels_by_layer[key] = _Kernels(activation, bias is not None)
    kernels = _kernels_by_layer[key]
    if kernels.prelu and slope is None:
        raise ValueError(f"reluforge.torch.linear: {kernels.activation} needs its slope tensor")
    return _apply(kernels, x, weight, bias, slope)


class Linear(torch.nn.Module):
    """y = activation(x W^T + b), by reluforge's fused kernels.

    activation: any reluforge activation ("relu", "gelu", "gelu(approximate=tanh)", "silu",
    "leaky_relu(slope=0.1)", "prelu" (one learned slope, 0.25 like torch.nn.PReLU),
    "prelu(slopes=per_column)" (one per output), ...).
    """

    def __init__(self, in_features, out_features, activation="relu", bias=True):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self._kernels = _Kernels(activation, bias)
        self.activation = self._kernels.activation
        self.weight = torch.nn.Parameter(torch.empty((out_features, in_features), dtype=torch.float32))
        self.bias = torch.nn.Parameter(torch.empty(out_features, dtype=torch.float32)) if bias else None
        if self._kernels.prelu:
            count = out_features if "per_column" in self.activation else 1
            self.slope = torch.nn.Parameter(torch.full((count,), 0.25, dtype=torch.float32))
        else:
            self.register_parameter("slope", None)
        self.reset_parameters()

    def reset_parameters(self):
        # torch.nn.Linear's initialisation.
        torch.nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            torch.nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        return _apply(self._kernels, x, self.weight, self.bias, self.slope)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"activation={self.activation}, bias={self.bias is not None}")
