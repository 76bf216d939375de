"""Sweep throughput and re-run time, side by side.

1. The same runs (``--runs`` DCN runs of ``--steps`` steps on MNIST) trained by the default workers
   (one single-thread process per core) and by one process using every core: aggregate steps per
   second of each and their ratio (goal: >= 1.35x on a 2-core CPU).
2. A finished 20-run ``--preset course`` sweep (``--rerun-steps`` steps per run, trained first if
   needed) called again: seconds to train nothing and rebuild its tables and figures (goal: < 5 s).

    python benchmarks/bench_sweep.py [--steps 200] [--runs 4] [--rerun-steps 2] [--out DIR]

Timings on a shared machine are noisy: the load average is printed beside them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from backproplab.hardware import usable_cores
from backproplab.sweeps.spec import SweepSpec
from backproplab.sweeps.sweep import run_sweep


def _throughput(spec: SweepSpec, out: Path, jobs: int, threads: int) -> float:
    began = time.perf_counter()
    result = run_sweep(spec, out, jobs=jobs, threads_per_job=threads, progress=False, say=lambda m: None)
    wall = time.perf_counter() - began
    steps = sum(r["steps_done"] for r in result["rows"])
    return steps / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--rerun-steps", type=int, default=2)
    parser.add_argument("--out", help="keep the sweeps here (default: a temporary folder)")
    args = parser.parse_args()
    cores = usable_cores()
    root = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    print(f"{cores} cores, load average before: {os.getloadavg()[0]:.1f}")

    base = {"steps": args.steps, "eval_every": args.steps}
    spec = SweepSpec(name="throughput", seeds=list(range(args.runs)), base=base)
    for folder in ("workers", "one-process"):
        shutil.rmtree(root / folder, ignore_errors=True)
    workers = _throughput(spec, root / "workers", jobs=cores, threads=1)
    single = _throughput(spec, root / "one-process", jobs=1, threads=cores)
    print(f"{args.runs} runs x {args.steps} steps (evaluation included):")
    print(f"  {cores} workers x 1 thread : {workers:6.2f} steps/s")
    print(f"  1 worker x {cores} threads : {single:6.2f} steps/s")
    print(f"  ratio                : {workers / single:6.2f}x  (goal >= 1.35x on 2 cores)")

    course = SweepSpec(name="course", preset="course", base={"steps": args.rerun_steps})
    first = run_sweep(course, root / "course", progress=False, say=lambda m: None)
    began = time.perf_counter()
    again = run_sweep(course, root / "course", progress=False, say=lambda m: None)
    rerun = time.perf_counter() - began
    print(
        f"course sweep ({len(again['rows'])} runs, {first['trained']} trained first): re-run trained "
        f"{again['trained']}, took {rerun:.2f} s (goal < 5 s)"
    )
    print(f"load average after: {os.getloadavg()[0]:.1f}; sweeps in {root}")


if __name__ == "__main__":
    main()
