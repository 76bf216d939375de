"""Speed of the DCN training step: a straightforward PyTorch implementation against ours.

Measured side by side in one process, in interleaved blocks (so that a noisy, shared machine
slows every variant alike):

- ``baseline``: the obvious nn.Module (Conv2d / MaxPool2d / Linear / Dropout, F.cross_entropy,
  torch.optim.Adam with its defaults), eager fp32, NCHW. It is written here, not imported.
- ``fp32``: ours (backproplab.dcn: pooling before monotone nonlinearities, channels-last, fused
  Adam), monitoring off.
- ``auto``: ours at the precision ``--precision auto`` picks on this machine (bf16 only where the
  hardware does it natively, else fp32): the default must never be slower than fp32.
- ``bf16``: ours with bfloat16 autocast, forced (not in the default list: on a CPU without AVX-512
  BF16 or AMX it is emulated, about 12x slower).
- ``fp32+monitor``: ours with the TensorBoard summaries of train() every 100 steps (17 tensors:
  histograms and statistics), written to a temporary folder.

Reports the median seconds per step, the mean over whole blocks, the ratios of the medians to the
baseline, achieved GFLOP/s (flops_per_step / median time), and the monitoring overhead from its
parts timed directly (see :func:`monitoring_overhead`). Every result is printed with the machine it
was measured on: CPU model, the vector instructions torch uses, whether bf16 is native, the thread
count, and the GPU's name with ``--device cuda`` (where each step is timed up to its completion on
the GPU, ``torch.cuda.synchronize``).

``--full`` also trains the baseline and ours (fp32 and auto) for the full 5,500 steps and
compares test accuracies (minutes each on a CPU).

    python benchmarks/bench_dcn.py [--steps 300] [--threads auto] [--device cpu] [--full]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from backproplab import hardware
from backproplab.datasets import mnist
from backproplab.dcn import DCN, TrainConfig, flops_per_step, make_optimizer, train
from backproplab.dcn.training import TorchEngine, forward_backward, make_autocast
from backproplab.mnist_net.run import write_summaries
from backproplab.monitoring import SummaryWriter

BATCH = 50
MONITOR_EVERY = 100


class StraightforwardNet(nn.Module):
    """What one writes first: the course's network with stock layers, the course's init."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 5, padding=2)
        self.conv2 = nn.Conv2d(32, 64, 5, padding=2)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(7 * 7 * 64, 1024)
        self.dropout = nn.Dropout(0.5)
        self.fc2 = nn.Linear(1024, 10)
        for layer in (self.conv1, self.conv2, self.fc1, self.fc2):
            nn.init.trunc_normal_(layer.weight, std=0.1, a=-0.2, b=0.2)
            nn.init.constant_(layer.bias, 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(F.relu(self.conv1(x.view(-1, 1, 28, 28))))
        x = self.pool(F.relu(self.conv2(x)))
        x = self.dropout(F.relu(self.fc1(x.flatten(1))))
        return self.fc2(x)


class Variant:
    """One training setup, kept alive across blocks so that each block continues its training."""

    def __init__(
        self,
        name: str,
        data: mnist.Datasets,
        model: nn.Module,
        step: Callable[[torch.Tensor, torch.Tensor, int], None],
        device: torch.device,
    ) -> None:
        self.name, self.model, self.step_fn, self.device = name, model, step, device
        # On a GPU a step is timed until the GPU has finished it.
        self.sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
        self.batches = mnist.DataSet(data.train.images, data.train.labels, seed=0)
        self.times: list[float] = []
        self.blocks: list[float] = []  # mean seconds per step of each block
        self.step_index = 0
        self.writer: SummaryWriter | None = None

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()

    def batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        xs, ys = self.batches.next_batch(BATCH)
        return torch.from_numpy(xs).to(self.device), torch.from_numpy(ys).to(self.device)

    def timed_step(self, index: int) -> float:
        x, y = self.batch()
        self.sync()
        t0 = time.perf_counter()
        self.step_fn(x, y, index)
        self.sync()
        return time.perf_counter() - t0

    def run_block(self, n: int, record: bool = True) -> None:
        times = []
        for _ in range(n):
            times.append(self.timed_step(self.step_index))
            self.step_index += 1
        if record:
            self.times += times
            self.blocks.append(sum(times) / n)


def baseline_variant(data: mnist.Datasets, device: torch.device) -> Variant:
    torch.manual_seed(0)
    model = StraightforwardNet().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)

    def step(x: torch.Tensor, y: torch.Tensor, i: int) -> None:
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return Variant("baseline", data, model, step, device)


def ours_variant(data: mnist.Datasets, device: torch.device, precision: str, logdir: Path | None) -> Variant:
    name = f"{precision}+monitor" if logdir is not None else precision
    if precision == "auto":
        precision = hardware.resolve_precision("auto", str(device))[0]
    torch.manual_seed(0)
    model = DCN().to(device, memory_format=torch.channels_last)
    optimizer = make_optimizer("adam", model.parameters())
    autocast = make_autocast(device, precision)
    writer = SummaryWriter(logdir) if logdir is not None else None
    engine = TorchEngine()  # for its monitored tensors, as the run loop reads them
    engine.model = model

    def step(x: torch.Tensor, y: torch.Tensor, i: int) -> None:
        monitor = writer is not None and i % MONITOR_EVERY == 0
        capture = {} if monitor else None
        logits, loss = forward_backward(model, optimizer, x.view(-1, 1, 28, 28), y, autocast, capture)
        loss_value = loss.item()  # train() reads it every step too (train/loss, divergence check)
        if writer is not None:
            writer.add_scalar("train/loss", loss_value, i)
            if monitor:
                writer.add_scalar("train/accuracy", (logits.argmax(1) == y).float().mean().item(), i)
                write_summaries(writer, engine.monitored(capture), i)
        optimizer.step()

    variant = Variant(name, data, model, step, device)
    variant.writer = writer
    return variant


def monitoring_overhead(variant: Variant, step_s: float, samples: int) -> dict[str, float]:
    """Cost of monitoring as a fraction of training time, from its two parts, each timed directly
    (block totals are too noisy on a shared machine: one descheduling costs more than all of it):

    - the extra time of a monitored step (capture, 17 summaries, histograms) over a plain one,
      from alternating monitored and plain steps; paid once every MONITOR_EVERY steps;
    - the per-step ``train/loss`` scalar, paid on every step.
    """
    monitored, plain = [], []
    for _ in range(samples):
        for index, bucket in ((0, monitored), (1, plain)):  # step index 0 is a monitored one
            bucket.append(variant.timed_step(index))
    extra = max(statistics.median(monitored) - statistics.median(plain), 0.0)
    with tempfile.TemporaryDirectory() as tmp, SummaryWriter(tmp) as writer:
        t0 = time.perf_counter()
        for i in range(2000):
            writer.add_scalar("train/loss", 0.5, i)
        scalar = (time.perf_counter() - t0) / 2000
    overhead = (extra + MONITOR_EVERY * scalar) / (MONITOR_EVERY * step_s)
    print(
        f"monitoring: a monitored step costs {extra * 1e3:.1f} ms more than a plain one (median of {samples} "
        f"pairs), the per-step loss scalar {scalar * 1e6:.0f} us; every {MONITOR_EVERY} steps of "
        f"{step_s * 1e3:.1f} ms that is an overhead of {overhead:.2%}"
    )
    return {"monitored_step_extra_s": extra, "scalar_s": scalar, "overhead_fraction": overhead}


def full_baseline_run(data: mnist.Datasets, steps: int, device: torch.device) -> dict[str, float]:
    variant = baseline_variant(data, device)
    t0 = time.perf_counter()
    variant.run_block(steps, record=False)
    wall = time.perf_counter() - t0
    model = variant.model.eval()
    with torch.inference_mode():
        logits = torch.cat(
            [model(torch.from_numpy(data.test.images[i : i + 1000]).to(device)) for i in range(0, 10000, 1000)]
        )
    accuracy = (logits.argmax(1).cpu().numpy() == data.test.labels).mean()
    return {"test_accuracy": float(accuracy), "wall_seconds": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=300, help="timed steps per variant (default 300)")
    parser.add_argument("--block", type=int, default=MONITOR_EVERY, help="steps per interleaved block")
    parser.add_argument("--warmup", type=int, default=20, help="untimed steps per variant first")
    parser.add_argument("--threads", default="auto", help="PyTorch threads: a number or auto (every usable core)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--variants", default="baseline,fp32,auto,fp32+monitor", help="also: bf16")
    parser.add_argument("--monitor-samples", type=int, default=15, help="monitored/plain step pairs timed")
    parser.add_argument("--full", action="store_true", help="also full 5,500-step runs and test accuracies")
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    args = parser.parse_args()
    threads = int(args.threads) if args.threads != "auto" else "auto"
    machine, _ = hardware.resolve(args.device, "auto", threads, False)
    torch.set_num_threads(machine.threads)
    device = torch.device(machine.device)
    data = mnist.load(progress=False)
    flops = flops_per_step(BATCH)
    print(f"machine: {machine.describe()}")
    print(f"torch {torch.__version__}, {flops / 1e9:.2f} GFLOP per step")

    with tempfile.TemporaryDirectory() as tmp:
        makers = {
            "baseline": lambda: baseline_variant(data, device),
            "fp32": lambda: ours_variant(data, device, "fp32", None),
            "auto": lambda: ours_variant(data, device, "auto", None),
            "bf16": lambda: ours_variant(data, device, "bf16", None),
            "fp32+monitor": lambda: ours_variant(data, device, "fp32", Path(tmp) / "monitor"),
        }
        variants = [makers[name]() for name in args.variants.split(",")]
        for variant in variants:
            variant.run_block(args.warmup, record=False)
            variant.step_index = 0  # monitored blocks start with their one monitored step
        rounds = max(1, args.steps // args.block)
        for r in range(rounds):
            for variant in variants if r % 2 == 0 else reversed(variants):
                variant.run_block(args.block)
            print(f"round {r + 1}/{rounds}: " + ", ".join(f"{v.name} {v.blocks[-1] * 1e3:.1f}" for v in variants))

        results: dict[str, Any] = {"machine": machine.as_dict()}
        base = next((v for v in variants if v.name == "baseline"), None)
        print(f"\nmachine: {machine.describe()} (auto = {machine.precision})")
        print(f"{'variant':<14} {'median ms':>9} {'block-mean ms':>13} {'speed-up':>8} {'GFLOP/s':>8}")
        for v in variants:
            median = statistics.median(v.times)
            mean = statistics.mean(v.blocks)
            speedup = statistics.median(base.times) / median if base else float("nan")
            results[v.name] = {
                "median_s": median,
                "block_mean_s": mean,
                "speedup": speedup,
                "gflops": flops / median / 1e9,
            }
            print(f"{v.name:<14} {median * 1e3:9.2f} {mean * 1e3:13.2f} {speedup:8.2f} {flops / median / 1e9:8.1f}")
        if "fp32" in results and "fp32+monitor" in results:
            results["monitoring"] = monitoring_overhead(
                next(v for v in variants if v.name == "fp32+monitor"),
                results["fp32"]["median_s"],
                args.monitor_samples,
            )
        for variant in variants:
            variant.close()

    if args.full:
        steps = 5500
        print("\nfull runs (5,500 steps) ...")
        results["full_baseline"] = full_baseline_run(data, steps, device)
        print(
            f"baseline: test accuracy {results['full_baseline']['test_accuracy']:.2%}, "
            f"{results['full_baseline']['wall_seconds']:.0f} s; machine: {machine.describe()}"
        )
        for precision in ("fp32", "auto"):
            with tempfile.TemporaryDirectory() as tmp:
                settings = {"threads": machine.threads, "device": args.device, "out": tmp, "overwrite": True}
                config = TrainConfig(steps=steps, precision=precision, **settings)
                metrics = train(config, data, progress=True)
            results[f"full_{precision}"] = {
                "test_accuracy": metrics["final"]["test_accuracy"],
                "validation_accuracy": metrics["final"]["validation_accuracy"],
                "wall_seconds": metrics["wall_seconds"],
                "precision": metrics["precision"],
            }
            print(
                f"ours {precision} ({metrics['precision']}): test accuracy {metrics['test_accuracy']:.2%}, "
                f"{metrics['wall_seconds']:.0f} s; machine: {machine.describe()}"
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
