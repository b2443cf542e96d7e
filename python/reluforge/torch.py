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
        # Run by the layer above, finishing this layer's dZ (and db, dslope) in its dX.
        self.backward_data_chained = (f"backward_data:{self.activation}:prev_bias={int(bias)}:weight=nk:save={self.save}"
                                      if not self.identity else None)
        # With an activation, db comes from activation_backward; without one, from backward_weight.
        self.backward_weight = f"backward_weight:bias={int(bias and self.identity)}:weight=nk"


def _check_float32(name, t):
    if t.dtype != torch.float32:
        raise TypeError(f"reluforge.torch.Linear: {name} is {t.dtype}; its kernels run float32 tensors "
                        f"(float64 has no kernels: gradcheck in float32 with the contract's tolerances)")
    if t.device.type != "cpu":
        raise TypeError(f"reluforge.torch.Linear: {name} is on {t.device}; the kernels run on the CPU")


def _forward(k, x, weight, bias, slope, saving):
    """One layer's forward kernel: Y and the aux it saved (None when not saving)."""
    m, n = x.shape[0], weight.shape[0]
    y = torch.empty((m, n), dtype=torch.float32)
    tensors = {"x": x, "w": weight, "y": y}
    if k.bias:
        tensors["b"] = bias
    if k.prelu:
        tensors["slope"] = slope
    saving = saving and not k.identity
    aux = None
    if saving:
        aux = _mask_like(m, n) if k.save == "mask" else torch.empty((m, n), dtype=torch.float32)
        tensors[k.save] = aux
    _rf.run_kernel(k.forward_saving if saving else k.forward_only, tensors)
    return y, aux


def _activation_backward(k, dy, aux, slope):
    """dZ, db and dslope of a layer from its dY (dZ is dY for identity, whose db comes later)."""
    if k.identity:
        return dy, None, None
    m, n = dy.shape
    dz = torch.empty((m, n), dtype=torch.float32)
    db = torch.empty(n, dtype=torch.float32) if k.bias else None
    dslope = torch.zeros_like(slope) if k.prelu else None
    tensors = {"dy": dy, k.save: aux, "dz": dz}
    if k.bias:
        tensors["db"] = db
    if k.prelu:
        tensors["slope"] = slope
        tensors["dslope"] = dslope
    _rf.run_kernel(k.activation_backward, tensors)
    return dz, db, dslope


def _backward_weight(k, x, dz, weight):
    """dW (and db for identity layers, which no activation_backward gave)."""
    dw = torch.empty_like(weight)
    tensors = {"x": x, "dz": dz, "dw": dw}
    db = None
    if k.identity and k.bias:
        db = tensors["db"] = torch.empty(dz.shape[1], dtype=torch.float32)
    _rf.run_kernel(k.backward_weight, tensors)
    return dw, db


def _backward_data(dz, weight):
    dx = torch.empty((dz.shape[0], weight.shape[1]), dtype=torch.float32)
    _rf.run_kernel("backward_data:identity:prev_bias=0:weight=nk", {"dz": dz, "w": weight, "dx": dx})
    return dx


def _backward_data_chained(prev, dz, weight, prev_aux, prev_slope):
    """dZ of the layer below (dX finished with its act'), its db and dslope, in one kernel."""
    m, k_in = dz.shape[0], weight.shape[1]
    dz_prev = torch.empty((m, k_in), dtype=torch.float32)
    tensors = {"dz": dz, "w": weight, "prev_aux": prev_aux, "dz_prev": dz_prev}
    db_prev = dslope_prev = None
    if prev.bias:
        db_prev = tensors["db_prev"] = torch.empty(k_in, dtype=torch.float32)
    if prev.prelu:
        tensors["prev_slope"] = prev_slope
        dslope_prev = tensors["dslope_prev"] = torch.zeros_like(prev_slope)
    _rf.run_kernel(prev.backward_data_chained, tensors)
    return dz_prev, db_prev, dslope_prev


def _detached(tensors):
    # Tensors that require grad do not export through DLPack: the kernels see detached views.
    return [t.detach() if t is not None else None for t in tensors]


class _StackFunction(torch.autograd.Function):
    """Layers applied in turn; backward chains them: each layer's backward_data finishes the dZ of
    the layer below with its act' (and db, dslope), so no layer below the top runs
    activation_backward."""

    @staticmethod
    def forward(ctx, x, kernels, saving, *params):
        h = x.detach()
        inputs, auxes = [], []
        for l, k in enumerate(kernels):
            weight, bias, slope = _detached(params[3 * l:3 * l + 3])
            inputs.append(h)
            h, aux = _forward(k, h, weight, bias, slope, saving)
            auxes.append(aux)
        ctx.kernels = kernels
        ctx.auxes = auxes  # masks are strided views: kept as they are rather than through save_for_backward
        ctx.save_for_backward(*inputs, *params)
        return h

    @staticmethod
    def backward(ctx, dy):
        kernels, auxes = ctx.kernels, ctx.auxes
        saved = _detached(ctx.saved_tensors)
        inputs, params = saved[:len(kernels)], saved[len(kernels):]
        grads = [None] * len(params)
        top = len(kernels) - 1
        dz, db, dslope = _activation_backward(kernels[top], dy.contiguous(), auxes[top], params[3 * top + 2])
        dx = None
        for l in range(top, -1, -1):
            k = kernels[l]
            weight = params[3 * l]
            dw, db_identity = _backward_weight(k, inputs[l], dz, weight)
            grads[3 * l:3 * l + 3] = [dw, db if db is not None else db_identity, dslope]
            if l > 0:
                prev = kernels[l - 1]
                if prev.identity:
                    dz, db, dslope = _backward_data(dz, weight), None, None
                else:
                    dz, db, dslope = _backward_data_chained(prev, dz, weight, auxes[l - 1], params[3 * l - 1])
            elif ctx.needs_input_grad[0]:
                dx = _backward_data(dz, weight)
        return (dx, None, None, *grads)


def _apply(kernels, x, params):
    """Layers (their _Kernels, and params as weight, bias, slope per layer) applied to x [..., in]
    by one _StackFunction."""
    _check_float32("the input", x)
    weights = params[0::3]
    for w in weights:
        _check_float32("the weight", w)
    if x.shape[-1] != weights[0].shape[1]:
        raise ValueError(f"reluforge.torch: input has {x.shape[-1]} features, the layer takes {weights[0].shape[1]}")
    for below, above in zip(weights, weights[1:]):
        if below.shape[0] != above.shape[1]:
            raise ValueError(f"reluforge.torch: a layer of {below.shape[0]} outputs feeds one of {above.shape[1]} inputs")
    rows = x.reshape(-1, x.shape[-1]).contiguous()
    # Inside an autograd.Function grad mode is off: whether backward will run is decided here.
    saving = torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in [x] + list(params))
    params = [t.contiguous() if t is not None else None for t in params]
    y = _StackFunction.apply(rows, tuple(kernels), saving, *params)
    return y.reshape(*x.shape[:-1], weights[-1].shape[0])


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
    return _apply([kernels], x, [weight, bias, slope])


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
        return _apply([self._kernels], x, [self.weight, self.bias, self.slope])

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"activation={self.activation}, bias={self.bias is not None}")


class Sequential(torch.nn.Sequential):
    """torch.nn.Sequential whose reluforge.torch.Linear layers, when it holds nothing else, run as
    one autograd node with the chained backward: each layer's backward_data applies the act' of
    the layer below (and reduces its db) as it writes dX, instead of a separate
    activation_backward pass per layer. With other modules in it, it runs them one by one."""

    def forward(self, x):
        layers = list(self)
        if not layers or not all(isinstance(l, Linear) for l in layers):
            return super().forward(x)
        return _apply([l._kernels for l in layers], x, [p for l in layers for p in (l.weight, l.bias, l.slope)])
