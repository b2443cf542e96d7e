#!/usr/bin/env python3
"""The MLP of examples/mlp_train in PyTorch: same data, layers, initialization, optimizer,
learning-rate schedule and batch size. Prints the same per-epoch line, for comparing accuracy and
samples per second with reluforge (needs Debian's python3-torch).

    python3 bench/mlp_torch.py [--epochs 6] [--threads 2] [--act relu]
"""
import argparse
import gzip
import os
import struct
import sys
import time

try:
    import numpy as np
    import torch
except ImportError as e:
    sys.exit(f"mlp_torch.py: {e}; install Debian's PyTorch: sudo apt-get install python3-torch")


def load(directory, prefix):
    def idx(path, rank):
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


ACTIVATIONS = {"relu": torch.nn.ReLU, "gelu": torch.nn.GELU, "silu": torch.nn.SiLU, "elu": torch.nn.ELU,
               "leaky_relu": lambda: torch.nn.LeakyReLU(0.01), "mish": torch.nn.Mish}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--lr-decay", type=float, default=0.7)
    p.add_argument("--hidden", default="256,128")
    p.add_argument("--act", default="relu", choices=sorted(ACTIVATIONS))
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    x_train, y_train = load(a.data, "train")
    x_test, y_test = load(a.data, "t10k")

    sizes = [784] + [int(h) for h in a.hidden.split(",")] + [10]
    layers = []
    for k in range(len(sizes) - 1):
        linear = torch.nn.Linear(sizes[k], sizes[k + 1])
        top = k == len(sizes) - 2
        torch.nn.init.normal_(linear.weight, 0.0, ((1.0 if top else 2.0) / sizes[k]) ** 0.5)
        torch.nn.init.zeros_(linear.bias)
        layers.append(linear)
        if not top:
            layers.append(ACTIVATIONS[a.act]())
    model = torch.nn.Sequential(*layers)
    optimizer = torch.optim.Adam(model.parameters(), lr=a.lr)
    schedule = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=a.lr_decay)
    loss_fn = torch.nn.CrossEntropyLoss()
    print(f"PyTorch {torch.__version__} MLP {'-'.join(map(str, sizes))} ({a.act} hidden), adam with lr {a.lr} "
          f"(x{a.lr_decay} per epoch), batch {a.batch}, {a.threads} threads")
    for epoch in range(1, a.epochs + 1):
        order = torch.randperm(len(x_train))
        loss_sum, correct = 0.0, 0
        t0 = time.perf_counter()
        for start in range(0, len(x_train), a.batch):
            idx = order[start:start + a.batch]
            xb, yb = x_train[idx], y_train[idx]
            logits = model(xb)
            loss = loss_fn(logits, yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(idx)
            correct += (logits.argmax(1) == yb).sum().item()
        seconds = time.perf_counter() - t0
        schedule.step()
        with torch.no_grad():
            test_correct = (model(x_test).argmax(1) == y_test).sum().item()
        print(f"epoch {epoch:2d}  loss {loss_sum / len(x_train):.4f}  train accuracy {correct / len(x_train):.4f}  "
              f"test accuracy {test_correct / len(x_test):.4f}  {len(x_train) / seconds:.0f} samples/s")


if __name__ == "__main__":
    main()
