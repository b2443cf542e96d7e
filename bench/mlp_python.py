#!/usr/bin/env python3
"""Training throughput of examples/python/mlp_train.py's MLP: reluforge.torch.Linear against the
same model in plain PyTorch (torch.nn.Linear + the activation module), in one process,
alternating, on Fashion-MNIST batches. Prints medians of samples/s and their ratio.

    PYTHONPATH=build/python python3 bench/mlp_python.py [--batches 128,1024] [--acts relu,gelu] [--reps 5]
"""
import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "python"))
if "--threads" not in " ".join(sys.argv):
    sys.argv += ["--threads", "1"]  # this benchmark's default, which mlp_train gives OpenBLAS before torch loads
import mlp_train  # noqa: E402
import torch  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=mlp_train.DATA)
    p.add_argument("--batches", default="128,1024")
    p.add_argument("--acts", default="relu,gelu")
    p.add_argument("--hidden", default="256,128")
    p.add_argument("--reps", type=int, default=5, help="timed runs of each model, alternating")
    p.add_argument("--samples", type=int, default=16384, help="training samples per timed run")
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    import reluforge
    torch.set_num_threads(a.threads)
    reluforge.set_num_threads(a.threads)
    x, y = mlp_train.load(a.data, "train")
    sizes = [784] + [int(h) for h in a.hidden.split(",")] + [10]
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"MLP {'-'.join(map(str, sizes))} training step (forward, backward, Adam), {a.threads} thread(s) "
          f"(torch: OpenMP, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}, "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}), {cpu}; "
          f"medians of {a.reps} runs of {a.samples} samples")
    print(f"{'act':>6} {'batch':>6} {'reluforge/s':>12} {'torch/s':>10} {'ratio':>6}")
    for act in a.acts.split(","):
        for batch in [int(b) for b in a.batches.split(",")]:
            rates = {}
            models = {}
            for impl in ("reluforge", "torch"):
                torch.manual_seed(1)
                model = mlp_train.build_model(sizes, act, impl)
                models[impl] = (model, torch.optim.Adam(model.parameters(), lr=2e-3))
                mlp_train.train_epoch(*models[impl], x, y, batch, steps=3)  # warm-up: JIT, allocator
                rates[impl] = []
            steps = max(1, a.samples // batch)
            for _ in range(a.reps):
                for impl in ("reluforge", "torch"):
                    rates[impl].append(mlp_train.train_epoch(*models[impl], x, y, batch, steps=steps)[2])
            ours, theirs = statistics.median(rates["reluforge"]), statistics.median(rates["torch"])
            print(f"{act:>6} {batch:>6} {ours:12.0f} {theirs:10.0f} {ours / theirs:6.2f}", flush=True)


if __name__ == "__main__":
    main()
