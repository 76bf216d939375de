"""Seconds per epoch of the NumPy DeepNeuralNetwork against the same network in PyTorch eager (CPU).

The workload of issue #3: a [64, 64, 64] ReLU network (2 -> 64 -> 64 -> 64 -> 2 softmax) on 10,000
moons points, mini-batches of 64 (157 steps per epoch), reshuffled every epoch, L2 0.01 in the
gradient, one thread for both engines. Both sides do the same work per step: forward, softmax
cross-entropy summed over the batch, backward, L2 gradient, optimizer update. Prints one line per
(optimizer, dtype) and the ratio numpy / torch (below 1: NumPy is faster).

    python benchmarks/bench_deep.py [--epochs 5] [--repeats 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import os
import time

# One thread for NumPy's BLAS too; must be set before NumPy is imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from backproplab.datasets import make_moons  # noqa: E402
from backproplab.scratch import DeepNeuralNetwork  # noqa: E402

HIDDEN = [64, 64, 64]
N, BATCH, REG = 10_000, 64, 0.01
LR = {"sgd": 1e-3, "adam": 1e-3}


def numpy_seconds_per_epoch(X: np.ndarray, y: np.ndarray, optimizer: str, dtype: type, epochs: int) -> float:
    net = DeepNeuralNetwork(2, HIDDEN, 2, "relu", REG, seed=0, init="he", dtype=dtype)
    net.fit_model(X, y, LR[optimizer], 1, False, batch_size=BATCH, optimizer=optimizer)  # warm-up
    start = time.perf_counter()
    # record_every > epochs: only the initial and final records, like the torch loop below (none).
    net.fit_model(X, y, LR[optimizer], epochs, False, batch_size=BATCH, optimizer=optimizer, record_every=epochs)
    return (time.perf_counter() - start) / epochs


def torch_seconds_per_epoch(
    X: np.ndarray, y: np.ndarray, optimizer: str, dtype: str, epochs: int, foreach: bool | None = None
) -> float:
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(0)
    tdtype = getattr(torch, dtype)
    dims = [2, *HIDDEN, 2]
    mods: list[torch.nn.Module] = []
    for i in range(len(dims) - 1):
        mods.append(torch.nn.Linear(dims[i], dims[i + 1]))
        if i < len(dims) - 2:
            mods.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*mods).to(tdtype)
    # torch's fastest way to the same gradient: L2 as the optimizer's weight decay on the weights
    # (lambda * B / N, our mini-batch scaling), no L2 term in the autograd graph.
    decay = REG * BATCH / N
    weights = [m.weight for m in model if isinstance(m, torch.nn.Linear)]
    biases = [m.bias for m in model if isinstance(m, torch.nn.Linear)]
    groups = [{"params": weights, "weight_decay": decay}, {"params": biases, "weight_decay": 0.0}]
    opt = (
        torch.optim.SGD(groups, lr=LR[optimizer], foreach=foreach)
        if optimizer == "sgd"
        else torch.optim.Adam(groups, lr=LR[optimizer], foreach=foreach)
    )
    Xt = torch.as_tensor(X, dtype=tdtype)
    yt = torch.as_tensor(y)
    gen = torch.Generator().manual_seed(0)

    def epoch() -> None:
        order = torch.randperm(N, generator=gen)
        Xs, ys = Xt[order], yt[order]
        for start in range(0, N, BATCH):
            xb, yb = Xs[start : start + BATCH], ys[start : start + BATCH]
            opt.zero_grad(set_to_none=False)
            loss = torch.nn.functional.cross_entropy(model(xb), yb, reduction="sum")
            loss.backward()
            opt.step()

    epoch()  # warm-up
    start = time.perf_counter()
    for _ in range(epochs):
        epoch()
    return (time.perf_counter() - start) / epochs


def measure(epochs: int = 5, repeats: int = 3, verbose: bool = True) -> list[dict[str, float | str]]:
    """Fastest-of-``repeats`` seconds per epoch for both engines, per optimizer and dtype; one dict per case."""
    X, y = make_moons(N, 0.2, seed=0)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    rows: list[dict[str, float | str]] = []
    for optimizer in ("sgd", "adam"):
        for dtype in ("float64", "float32"):
            t_np = min(numpy_seconds_per_epoch(X, y, optimizer, np.dtype(dtype).type, epochs) for _ in range(repeats))
            t_torch = min(torch_seconds_per_epoch(X, y, optimizer, dtype, epochs) for _ in range(repeats))
            rows.append(
                {
                    "optimizer": optimizer,
                    "dtype": dtype,
                    "numpy_s_per_epoch": t_np,
                    "torch_s_per_epoch": t_torch,
                    "ratio_numpy_over_torch": t_np / t_torch,
                }
            )
            if verbose:
                print(
                    f"[64,64,64] ReLU, N={N}, batch {BATCH}, {optimizer:4s} {dtype}: numpy {t_np * 1e3:6.1f} ms/epoch, "
                    f"torch eager (1 thread) {t_torch * 1e3:6.1f} ms/epoch, ratio numpy/torch {t_np / t_torch:.2f}"
                )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="measurements per engine; the fastest is kept")
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    args = parser.parse_args()
    rows = measure(args.epochs, args.repeats)
    if args.json:
        from backproplab.io import write_json

        write_json(args.json, {"benchmark": "deep_numpy_vs_torch", "rows": rows})


if __name__ == "__main__":
    main()
