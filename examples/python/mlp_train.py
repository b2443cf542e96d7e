#!/usr/bin/env python3
"""The MLP of examples/mlp_train in Python: Fashion-MNIST, 784-256-128-10 by default, Adam with an
exponentially decaying learning rate, layers reluforge.torch.Linear in a reluforge.torch.Sequential
(chained backward; or, with --impl
torch, torch.nn.Linear + the activation module: the same model in plain PyTorch). Prints one line
per epoch: loss, train and test accuracy, samples per second.

    PYTHONPATH=build/python python3 examples/python/mlp_train.py [--epochs 6] [--act gelu] [--impl torch]
"""
import argparse
import gzip
import os
import struct
import sys
import time


def _threads_from_argv(default):
    """--threads N from the command line (this script's and bench/mlp_python.py's)."""
    args = sys.argv[1:]
    for k, a in enumerate(args):
        if a == "--threads" and k + 1 < len(args):
            return args[k + 1]
        if a.startswith("--threads="):
            return a.split("=", 1)[1]
    return str(default)


# Debian's PyTorch runs its matmuls in OpenBLAS, whose threads torch.set_num_threads does not
# limit: without this, "1 thread" ran torch on every core, and 2 threads oversubscribed them
# (OpenMP's and OpenBLAS's threads, 4 on 2 cores: 4x slower). It must be set before torch loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", _threads_from_argv(os.cpu_count()))
# Its OpenMP threads spin between ops, taking the cores from OpenBLAS's and reluforge's threads:
# with this, 2-thread torch went from 10-47k to 37-96k samples/s (bench/mlp_python.py, AMD EPYC
# Zen 4, 2 vCPUs).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

try:
    import numpy as np
    import torch
except ImportError as e:
    sys.exit(f"mlp_train.py: {e}; install Debian's python3-numpy and python3-torch")

DATA = "/usr/share/datasets/fashion-mnist"
TORCH_ACTIVATIONS = {"relu": torch.nn.ReLU, "gelu": torch.nn.GELU, "silu": torch.nn.SiLU, "elu": torch.nn.ELU,
                     "leaky_relu": lambda: torch.nn.LeakyReLU(0.01), "mish": torch.nn.Mish}


def load(directory, prefix):
    """Images as float32 [n, 784] in [0, 1] and labels as int64, from the idx.gz files."""
    def idx(path, rank):
        if not os.path.exists(path):
            sys.exit(f"mlp_train.py: {path} not found. Install Debian's package:  "
                     f"sudo apt-get install dataset-fashion-mnist  (or pass --data DIR)")
        with gzip.open(path, "rb") as f:
            data = f.read()
        magic, = struct.unpack(">I", data[:4])
        if magic != 0x0800 | rank:
            sys.exit(f"{path} is not an idx file of rank {rank}")
        dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
        return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)

    images = idx(os.path.join(directory, f"{prefix}-images-idx3-ubyte.gz"), 3)
    labels = idx(os.path.join(directory, f"{prefix}-labels-idx1-ubyte.gz"), 1)
    x = torch.from_numpy(images.reshape(len(images), -1).astype(np.float32) / 255.0)
    return x, torch.from_numpy(labels.astype(np.int64))


def build_model(sizes, act, impl):
    """The network of examples/mlp_train: He-normal hidden weights, 1/fan_in for the top layer,
    zero biases. reluforge's layers go in a reluforge.torch.Sequential, whose backward is chained."""
    layers = []
    for k in range(len(sizes) - 1):
        top = k == len(sizes) - 2
        if impl == "reluforge":
            import reluforge.torch as rt
            linear = rt.Linear(sizes[k], sizes[k + 1], activation="identity" if top else act)
        else:
            linear = torch.nn.Linear(sizes[k], sizes[k + 1])
        torch.nn.init.normal_(linear.weight, 0.0, ((1.0 if top else 2.0) / sizes[k]) ** 0.5)
        torch.nn.init.zeros_(linear.bias)
        layers.append(linear)
        if impl == "torch" and not top:
            layers.append(TORCH_ACTIVATIONS[act]())
    if impl == "reluforge":
        import reluforge.torch as rt
        return rt.Sequential(*layers)
    return torch.nn.Sequential(*layers)


def train_epoch(model, optimizer, x, y, batch, steps=None):
    """One pass over (x, y) in shuffled batches (or `steps` batches); mean loss, accuracy, samples/s."""
    loss_fn = torch.nn.CrossEntropyLoss()
    order = torch.randperm(len(x))
    loss_sum, correct, seen = 0.0, 0, 0
    t0 = time.perf_counter()
    for n, start in enumerate(range(0, len(x), batch)):
        if steps is not None and n == steps:
            break
        idx = order[start:start + batch]
        xb, yb = x[idx], y[idx]
        logits = model(xb)
        loss = loss_fn(logits, yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum += loss.item() * len(idx)
        correct += (logits.argmax(1) == yb).sum().item()
        seen += len(idx)
    return loss_sum / seen, correct / seen, seen / (time.perf_counter() - t0)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=DATA)
    p.add_argument("--impl", default="reluforge", choices=["reluforge", "torch"])
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--lr-decay", type=float, default=0.7)
    p.add_argument("--hidden", default="256,128")
    p.add_argument("--act", default="relu", choices=sorted(TORCH_ACTIVATIONS))
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--subset", type=int, default=0, help="train on the first N images only")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--expect-loss-falls", action="store_true",
                   help="exit 1 unless the last epoch's loss is below 0.8 x the first's")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    if a.impl == "reluforge":
        import reluforge
        reluforge.set_num_threads(a.threads)
    x_train, y_train = load(a.data, "train")
    x_test, y_test = load(a.data, "t10k")
    if a.subset:
        x_train, y_train = x_train[:a.subset], y_train[:a.subset]

    sizes = [784] + [int(h) for h in a.hidden.split(",")] + [10]
    model = build_model(sizes, a.act, a.impl)
    optimizer = torch.optim.Adam(model.parameters(), lr=a.lr)
    schedule = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=a.lr_decay)
    print(f"{a.impl} (PyTorch {torch.__version__}) MLP {'-'.join(map(str, sizes))} ({a.act} hidden), adam with "
          f"lr {a.lr} (x{a.lr_decay} per epoch), batch {a.batch}, {len(x_train)} training images, {a.threads} threads")
    losses = []
    for epoch in range(1, a.epochs + 1):
        loss, accuracy, rate = train_epoch(model, optimizer, x_train, y_train, a.batch)
        schedule.step()
        with torch.no_grad():
            test_accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
        losses.append(loss)
        print(f"epoch {epoch:2d}  loss {loss:.4f}  train accuracy {accuracy:.4f}  test accuracy {test_accuracy:.4f}  "
              f"{rate:.0f} samples/s", flush=True)
    if a.expect_loss_falls:
        falls = losses[-1] < 0.8 * losses[0]
        print(f"loss {'fell' if falls else 'did NOT fall'}: {losses[0]:.4f} -> {losses[-1]:.4f}")
        sys.exit(0 if falls else 1)


if __name__ == "__main__":
    main()
