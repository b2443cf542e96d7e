"""reluforge.torch.Linear: autograd through the fused kernels, checked by gradcheck (float32, the
contract's tolerances), against torch's own layers, and in use (optimizers, state_dict, no_grad)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")  # Debian's python3-torch; build.sh installs it

import reluforge
import reluforge.torch as rt
from conftest import ACTIVATIONS

torch.manual_seed(0)


def inputs_away_from_kinks(activation, m, k, n, slope_count, generator):
    """x, w, b (and slope) whose pre-activations lie at least 0.1 from every kink, so that finite
    differences of step 1e-3 do not cross one."""
    kinks = np.array([0.0, 6.0, -3.0, 3.0])
    for _ in range(1000):
        x = torch.randn(m, k, generator=generator)
        w = torch.randn(n, k, generator=generator) * 0.5
        b = torch.randn(n, generator=generator) * 0.5
        z = (x.double() @ w.double().T + b.double()).numpy()
        if np.abs(z[..., None] - kinks).min() > 0.1:
            break
    slope = torch.rand(slope_count, generator=generator) * 0.5 if slope_count else None
    return [t.requires_grad_() if t is not None else None for t in (x, w, b, slope)]


@pytest.mark.filterwarnings("ignore:Input #.* requires gradient and is not a double")  # float32 on purpose
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradcheck_in_float32(activation):
    g = torch.Generator().manual_seed(abs(hash(activation)) % 2**31)
    prelu = activation.startswith("prelu")
    slopes = (5 if "per_column" in activation else 1) if prelu else 0
    x, w, b, slope = inputs_away_from_kinks(activation, 4, 3, 5, slopes, g)
    args = (x, w, b) + ((slope,) if prelu else ())

    def fn(x, w, b, slope=None):
        return rt.linear(x, w, b, activation=activation, slope=slope)

    # float32 central differences of step 1e-3: rounding and curvature of order 1e-3 relative.
    assert torch.autograd.gradcheck(fn, args, eps=1e-3, atol=2e-3, rtol=2e-2, nondet_tol=0)


def torch_reference(activation, z, slope):
    F = torch.nn.functional
    table = {
        "identity": lambda: z, "relu": lambda: F.relu(z), "leaky_relu(slope=0.01)": lambda: F.leaky_relu(z, 0.01),
        "prelu(slopes=per_column)": lambda: torch.where(z > 0, z, slope * z), "elu(alpha=1)": lambda: F.elu(z),
        "selu": lambda: F.selu(z), "celu(alpha=1)": lambda: F.celu(z), "relu6": lambda: F.relu6(z),
        "gelu(approximate=none)": lambda: F.gelu(z), "gelu(approximate=tanh)": lambda: F.gelu(z, approximate="tanh"),
        "silu": lambda: F.silu(z), "mish": lambda: F.mish(z), "softplus(beta=1,threshold=20)": lambda: F.softplus(z),
        "hardswish": lambda: F.hardswish(z)}
    return table[activation]()


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_matches_torchs_own_layers_forward_and_backward(activation):
    layer = rt.Linear(37, 29, activation=activation)
    x = torch.randn(3, 11, 37, requires_grad=True)  # leading dimensions, as torch.nn.Linear takes
    y = layer(x)
    y.square().sum().backward()
    w, b = layer.weight.detach().clone().requires_grad_(), layer.bias.detach().clone().requires_grad_()
    x2 = x.detach().clone().requires_grad_()
    slope = layer.slope.detach().clone().requires_grad_() if layer.slope is not None else None
    y2 = torch_reference(activation, x2 @ w.T + b, slope)
    y2.square().sum().backward()
    assert y.shape == (3, 11, 29)
    torch.testing.assert_close(y, y2, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(x.grad, x2.grad, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(layer.weight.grad, w.grad, atol=1e-3, rtol=1e-4)
    torch.testing.assert_close(layer.bias.grad, b.grad, atol=1e-4, rtol=1e-4)
    if slope is not None:
        torch.testing.assert_close(layer.slope.grad, slope.grad, atol=1e-3, rtol=1e-4)


@pytest.mark.parametrize("activation", ["relu", "gelu(approximate=none)"])
def test_a_batch_of_one_sample_trains(activation):
    # PyTorch's DLPack gives a single row stride 1, which a bit mask's 64-byte rows must not refuse.
    layer = rt.Linear(5, 3, activation=activation)
    x = torch.randn(1, 5, requires_grad=True)
    layer(x).sum().backward()
    w, b = layer.weight.detach().clone().requires_grad_(), layer.bias.detach().clone().requires_grad_()
    x2 = x.detach().clone().requires_grad_()
    torch_reference(activation, x2 @ w.T + b, None).sum().backward()
    torch.testing.assert_close(x.grad, x2.grad, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(layer.weight.grad, w.grad, atol=1e-5, rtol=1e-4)


def test_float64_is_refused_with_a_clear_message():
    layer = rt.Linear(4, 3).double()
    with pytest.raises(TypeError, match="float64 has no kernels"):
        layer(torch.randn(2, 4, dtype=torch.float64))
    with pytest.raises(ValueError, match="input has 5 features"):
        rt.Linear(4, 3)(torch.randn(2, 5))


def test_initialisation_and_parameters_follow_torch_nn_linear():
    layer = rt.Linear(100, 7, activation="prelu")
    assert layer.weight.shape == (7, 100) and layer.bias.shape == (7,)
    bound = 1 / 10  # kaiming_uniform(a=sqrt(5)) and the bias both give 1/sqrt(fan_in)
    assert layer.weight.abs().max() <= bound and layer.bias.abs().max() <= bound
    assert layer.slope.tolist() == [0.25]  # torch.nn.PReLU's default
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias", "slope"]
    assert rt.Linear(3, 2, bias=False).bias is None
    assert "activation=gelu(approximate=none)" in repr(rt.Linear(3, 2, activation="gelu"))
    with pytest.raises(reluforge.Error, match="activation 'gleu' is not one of"):
        rt.Linear(3, 2, activation="gleu")


def test_state_dict_round_trips_and_no_grad_runs_without_saving():
    a = rt.Linear(8, 6, activation="silu")
    b = rt.Linear(8, 6, activation="silu")
    b.load_state_dict(a.state_dict())
    x = torch.randn(5, 8)
    torch.testing.assert_close(a(x), b(x), atol=0, rtol=0)
    with torch.no_grad():
        y = a(x)
    assert not y.requires_grad
    torch.testing.assert_close(y, a(x).detach(), atol=0, rtol=0)


def test_a_stack_trains_with_a_torch_optimizer():
    torch.manual_seed(1)
    model = torch.nn.Sequential(rt.Linear(10, 32, activation="gelu"), rt.Linear(32, 32, activation="relu"),
                                rt.Linear(32, 3, activation="identity"))
    x = torch.randn(256, 10)
    labels = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(60):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), labels)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize("acts", [("relu", "gelu", "identity"), ("prelu(slopes=per_column)", "silu", "relu6"),
                                  ("elu(alpha=1)", "identity", "prelu"), ("leaky_relu(slope=0.01)", "mish", "hardswish")])
@pytest.mark.parametrize("bias", [True, False])
def test_a_sequential_stack_chains_its_backward_and_matches_layer_by_layer(acts, bias):
    torch.manual_seed(3)
    widths = [37, 29, 45, 11]
    chained = rt.Sequential(*[rt.Linear(widths[l], widths[l + 1], activation=a, bias=bias) for l, a in enumerate(acts)])
    separate = torch.nn.Sequential(*[rt.Linear(widths[l], widths[l + 1], activation=a, bias=bias)
                                     for l, a in enumerate(acts)])
    separate.load_state_dict(chained.state_dict())
    x1 = torch.randn(67, 37, requires_grad=True)
    x2 = x1.detach().clone().requires_grad_()
    y1, y2 = chained(x1), separate(x2)
    torch.testing.assert_close(y1, y2, atol=0, rtol=0)  # the same forward kernels
    (y1 * torch.linspace(-1, 1, 11)).sum().backward()
    (y2 * torch.linspace(-1, 1, 11)).sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad, atol=1e-5, rtol=1e-4)
    for (name, p1), p2 in zip(chained.named_parameters(), separate.parameters()):
        torch.testing.assert_close(p1.grad, p2.grad, atol=1e-4, rtol=1e-4, msg=lambda m: f"{name}: {m}")


@pytest.mark.filterwarnings("ignore:Input #.* requires gradient and is not a double")
def test_gradcheck_of_a_chained_stack():
    torch.manual_seed(4)
    stack = rt.Sequential(rt.Linear(3, 4, activation="silu"), rt.Linear(4, 5, activation="prelu"),
                          rt.Linear(5, 2, activation="gelu"))
    x = torch.randn(6, 3, requires_grad=True)
    assert torch.autograd.gradcheck(stack, (x,), eps=1e-3, atol=2e-3, rtol=2e-2)
    # The parameters too: the stack as a function of all of them.
    names = [n for n, _ in stack.named_parameters()]

    def of_params(*ps):
        return torch.nn.utils.stateless.functional_call(stack, dict(zip(names, ps)), (x.detach(),))

    assert torch.autograd.gradcheck(of_params, tuple(p.detach().clone().requires_grad_() for p in stack.parameters()),
                                    eps=1e-3, atol=2e-3, rtol=2e-2)


def test_a_sequential_with_other_modules_runs_them_in_turn():
    stack = rt.Sequential(rt.Linear(8, 6, activation="relu"), torch.nn.Dropout(0.0), rt.Linear(6, 2, activation="identity"))
    x = torch.randn(5, 8)
    expected = stack[2](stack[0](x))
    torch.testing.assert_close(stack(x), expected, atol=0, rtol=0)
    with pytest.raises(ValueError, match="a layer of 6 outputs feeds one of 7 inputs"):
        rt.Sequential(rt.Linear(8, 6), rt.Linear(7, 2))(x)
