"""What the default report's 2c sweep saves with cheaper evaluation and monitoring, side by side.

One run of the default report's sweep (:func:`backproplab.experiments.sweep_study.sweep_specs`, mode default:
300 steps, evaluation every 100, monitoring every 50, on MNIST, one thread as each sweep worker runs) trained
with every evaluation scoring the whole validation and test sets, then with the evaluations before the last
scoring the first ``--eval-images`` validation images only, then also monitoring every 100 steps. Prints each
wall time and CPU time (the process's, all threads: steadier than the wall time on a shared machine), their ratio
to the first, and whether the final numbers agree bit for bit (they must: evaluation and monitoring do not change
the trajectory).

    python benchmarks/bench_eval.py [--steps 300] [--eval-images 1000] [--threads 1] [--out DIR]

Timings on a shared machine are noisy: the load average is printed beside them.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from backproplab.datasets import mnist
from backproplab.experiments.sweep_study import DEFAULT_EVAL_IMAGES, sweep_specs
from backproplab.hardware import resolve
from backproplab.mnist_net.config import TrainConfig
from backproplab.mnist_net.run import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, help="steps per run (default: the default report's)")
    parser.add_argument("--eval-images", type=int, default=DEFAULT_EVAL_IMAGES)
    parser.add_argument("--threads", type=int, default=1, help="PyTorch threads (a sweep worker has 1)")
    parser.add_argument("--out", help="keep the runs here (default: a temporary folder)")
    args = parser.parse_args()
    base = dict(sweep_specs("default", 0)[0].base)
    base.pop("eval_images", None)
    if args.steps:
        base["steps"] = args.steps
    root = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="bench-eval-"))
    data = mnist.load(validation_size=5000, seed=0, progress=False)
    hardware, _ = resolve("cpu", "auto", args.threads, False)
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {hardware.describe()}")
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    variants = {
        "every evaluation whole (15,000 images)": {},
        f"evaluations before the last on {args.eval_images} images": {"eval_images": args.eval_images},
        f"... and monitoring every 100 (not {base['monitor_every']})": {
            "eval_images": args.eval_images,
            "monitor_every": 100,
        },
    }
    first, reference = None, None
    for index, (label, change) in enumerate(variants.items()):
        config = TrainConfig(**{**base, **change, "threads": args.threads, "out": str(root / f"run{index}")})
        began, cpu_began = time.perf_counter(), time.process_time()
        metrics = train(config, data, progress=False)
        wall, cpu = time.perf_counter() - began, time.process_time() - cpu_began
        final = {k: metrics["final"][k] for k in ("validation_error", "test_error")}
        first = first or (wall, cpu)
        reference = reference or final
        same = "same final numbers" if final == reference else f"DIFFERENT final numbers {final} vs {reference}"
        print(
            f"  {label:52s} wall {wall:6.1f} s (ratio {wall / first[0]:4.2f}), CPU {cpu:6.1f} s "
            f"(ratio {cpu / first[1]:4.2f}); {same}"
        )
    steps, evals = base["steps"], base["steps"] // base["eval_every"]
    print(f"{steps} steps, {evals} evaluations; load average after: {os.getloadavg()[0]:.1f}; runs in {root}")


if __name__ == "__main__":
    main()
