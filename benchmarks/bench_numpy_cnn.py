"""Speed of the NumPy ConvNet's training step against the PyTorch DCN's, on the same CPU in one process.

Both train the course's network (relu, truncated normal, Adam 1e-4, batch 50, fp32, monitoring off)
on MNIST, in interleaved blocks so that a noisy shared machine slows both alike, with the same
number of threads (BLAS threads for NumPy via threadpoolctl, ``torch.set_num_threads`` for torch).
Prints the median ms per step of each, their ratio (goal: NumPy <= 3x PyTorch), and where the NumPy
step's time goes: forward and backward of every layer, and the optimizer update of every layer's
parameters (the activation and pooling layers are shared by both conv blocks and are timed together).

    python benchmarks/bench_numpy_cnn.py [--steps 60] [--blocks 5] [--threads 1] [--full]

``--full`` then trains the NumPy engine for the course's 5,500 steps (``backproplab.mnist_net.run.train`` with
``engine="numpy"``, a run folder in ./runs/dcn-numpy-bench) and prints its test accuracy.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from collections.abc import Callable

import torch
from threadpoolctl import threadpool_limits

from backproplab.datasets import mnist
from backproplab.dcn import DCN, TrainConfig, make_optimizer
from backproplab.dcn.training import forward_backward, make_autocast
from backproplab.mnist_net.run import train
from backproplab.numpy_dcn.convnet import LAYERS, ConvNet
from backproplab.scratch.optimizers import make_optimizer as make_numpy_optimizer

BATCH = 50
LR = 1e-4


def torch_step(data: mnist.DataSet) -> Callable[[], None]:
    torch.manual_seed(0)
    model = DCN().to(memory_format=torch.channels_last)
    optimizer = make_optimizer("adam", model.parameters(), LR)
    autocast = make_autocast(torch.device("cpu"), "fp32")

    def step() -> None:
        x, y = data.next_batch(BATCH)
        forward_backward(model, optimizer, torch.as_tensor(x).view(-1, 1, 28, 28), torch.as_tensor(y), autocast)
        optimizer.step()

    return step


def numpy_step(data: mnist.DataSet, net: ConvNet) -> Callable[[], None]:
    optimizer = make_numpy_optimizer("adam", net.parameters(), LR)

    def step() -> None:
        x, y = data.next_batch(BATCH)
        net.loss_and_gradients(x, y)
        optimizer.step(net.gradients())

    step.optimizer = optimizer  # type: ignore[attr-defined]
    return step


def timed_blocks(steps: dict[str, Callable[[], None]], n_steps: int, blocks: int) -> dict[str, list[float]]:
    """Per-step seconds of each variant, measured in interleaved blocks of ``n_steps`` steps."""
    times: dict[str, list[float]] = defaultdict(list)
    for _ in range(blocks):
        for name, step in steps.items():
            for _ in range(n_steps):
                began = time.perf_counter()
                step()
                times[name].append(time.perf_counter() - began)
    return times


class LayerProfile:
    """Wraps the forward/backward methods of a ConvNet's layers and an optimizer's per-parameter
    update with timers; ``seconds[(layer, phase)]`` accumulates."""

    def __init__(self, net: ConvNet, optimizer) -> None:
        self.seconds: dict[tuple[str, str], float] = defaultdict(float)
        layers = {
            "conv1": net.conv1,
            "conv2": net.conv2,
            "activation (all)": net.act,
            "maxpool (both)": net.pool,
            "flatten": net.flatten,
            "fc1": net.fc1,
            "dropout": net.dropout,
            "fc2": net.fc2,
        }
        for name, layer in layers.items():
            for phase in ("forward", "backward"):
                setattr(layer, phase, self._timed(getattr(layer, phase), name, phase))
        names = [f"{layer}" for layer in LAYERS for _ in ("w", "b")]
        update = optimizer._update

        def timed_update(i, p, g):
            began = time.perf_counter()
            update(i, p, g)
            self.seconds[(names[i], "update")] += time.perf_counter() - began

        optimizer._update = timed_update
        self.order = list(layers)

    def _timed(self, fn: Callable, name: str, phase: str) -> Callable:
        def wrapper(*args, **kwargs):
            began = time.perf_counter()
            result = fn(*args, **kwargs)
            self.seconds[(name, phase)] += time.perf_counter() - began
            return result

        return wrapper

    def report(self, steps: int, total_ms: float) -> None:
        print(f"\nwhere the NumPy step's time goes (ms per step, {steps} steps; step median {total_ms:.1f} ms)")
        print(f"{'layer':<18}{'forward':>10}{'backward':>10}{'update':>10}{'total':>10}")
        accounted = 0.0
        for name in self.order:
            row = [self.seconds.get((name, phase), 0.0) * 1e3 / steps for phase in ("forward", "backward", "update")]
            accounted += sum(row)
            print(f"{name:<18}" + "".join(f"{v:>10.2f}" for v in row) + f"{sum(row):>10.2f}")
        print(f"{'loss, softmax, rest':<18}{'':>30}{total_ms - accounted:>10.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=60, help="steps per block")
    parser.add_argument("--blocks", type=int, default=5, help="interleaved blocks per engine")
    parser.add_argument("--threads", type=int, default=1, help="threads for both engines")
    parser.add_argument("--full", action="store_true", help="then train the NumPy engine for 5,500 steps")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = mnist.load(progress=False)
    with threadpool_limits(limits=args.threads, user_api="blas"):
        net = ConvNet(seed=0)
        steps = {
            "pytorch": torch_step(mnist.DataSet(data.train.images, data.train.labels, seed=0)),
            "numpy": numpy_step(mnist.DataSet(data.train.images, data.train.labels, seed=0), net),
        }
        for step in steps.values():  # warm-up: first-call allocations, oneDNN kernel choice
            for _ in range(3):
                step()
        times = timed_blocks(steps, args.steps, args.blocks)
        median = {name: statistics.median(t) * 1e3 for name, t in times.items()}
        print(f"training step, batch {BATCH}, fp32, {args.threads} thread(s), {args.blocks}x{args.steps} steps each")
        for name, ms in median.items():
            print(f"  {name:<8} {ms:8.1f} ms/step (median)  {statistics.fmean(times[name]) * 1e3:8.1f} mean")
        print(f"  numpy / pytorch = {median['numpy'] / median['pytorch']:.2f}x  (goal: <= 3x)")

        profile = LayerProfile(net, steps["numpy"].optimizer)  # type: ignore[attr-defined]
        profiled = timed_blocks({"numpy": steps["numpy"]}, args.steps, 1)["numpy"]
        profile.report(len(profiled), statistics.fmean(profiled) * 1e3)

    if args.full:
        config = TrainConfig(engine="numpy", out="runs/dcn-numpy-bench", overwrite=True, threads=args.threads)
        metrics = train(config, data)
        print(
            f"\nnumpy engine, 5,500 steps: test accuracy {metrics['final']['test_accuracy']:.2%}, "
            f"{metrics['wall_seconds'] / 60:.1f} min"
        )


if __name__ == "__main__":
    main()
