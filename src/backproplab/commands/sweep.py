"""`backproplab sweep`: train the DCN over nonlinearities, initialisations and optimizers."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from backproplab import hints, runs, signals
from backproplab.mnist_net.choices import ACTIVATIONS, INITS, OPTIMIZERS, SCHEDULES
from backproplab.mnist_net.config import TrainConfig
from backproplab.settings import add_arguments, add_quiet, common_help, given
from backproplab.sweeps.spec import KIND, LR_FACTOR, LR_POINTS, PRESETS, SweepSpec, parse_list

#: The settings every run of a sweep shares, declared once in TrainConfig (as `backproplab dcn` shows them).
SHARED_SETTINGS = (
    "steps",
    "batch_size",
    "dropout",
    "eval_every",
    "eval_images",
    "monitor_every",
    "device",
    "precision",
    "deterministic",
    "on_divergence",
    "data_dir",
)
_LISTS = {
    "activations": (str, tuple(ACTIVATIONS.names())),
    "inits": (str, tuple(INITS.names())),
    "optimizers": (str, tuple(OPTIMIZERS.names())),
    "lrs": (float, None),
    "schedules": (str, tuple(SCHEDULES.names())),
    "seeds": (int, None),
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sweep",
        help="train the DCN over nonlinearities, initialisations and optimizers, in parallel, "
        "skipping runs already done; tables, figures and TensorBoard HParams",
        description="Train many DCN runs in worker processes (default: one single-thread worker per CPU core, one "
        "per GPU on CUDA). A run's folder follows from its settings: finished runs are skipped, interrupted ones "
        "resumed. Writes sweep.csv, sweep.json, per-factor figures and an HParams dashboard "
        "(backproplab tensorboard --logdir <out>).",
    )
    what = parser.add_argument_group("what to train")
    what.add_argument(
        "--preset",
        choices=PRESETS,
        help="course: one factor at a time from relu / truncated_normal / adam at its default rate (20 runs); "
        f"lr: per optimizer {LR_POINTS} rates a factor {LR_FACTOR:g} apart around its default, scored on validation "
        "error after --lr-steps (extended at an edge), then the best rate for --steps",
    )
    for flag, (_, names) in _LISTS.items():
        choices = f": {', '.join(names)}" if names else ""
        what.add_argument(
            f"--{flag}",
            metavar="A,B,...",
            help=f"comma-separated {flag} to sweep{choices}",
        )
    what.add_argument(
        "--lr-steps", type=int, default=500, metavar="N", help="steps of each lr-search run (default: 500)"
    )
    add_arguments(parser, TrainConfig, only=SHARED_SETTINGS)
    how = parser.add_argument_group("how and where")
    how.add_argument("--jobs", type=int, metavar="N", help="worker processes (default: one per core, or per GPU)")
    how.add_argument(
        "--threads-per-job",
        type=int,
        metavar="T",
        help="PyTorch threads per worker (default: the cores shared out among the workers; 1 with the default "
        "--jobs on a CPU)",
    )
    how.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="send the runs to this Dask cluster instead")
    how.add_argument("--out", metavar="DIR", help=common_help("--out", f"(default: {runs.default_root(KIND)}/<name>)"))
    how.add_argument(
        "--name", metavar="NAME", help=common_help("--name", "and the sweep's name (default: the preset, else 'grid')")
    )
    how.add_argument("--dry-run", action="store_true", help="list the runs, which are done, and a wall-time estimate")
    how.add_argument(
        "--retry-failed",
        action="store_true",
        help="train diverged and failed runs again from scratch (without it, a failed run resumes from its "
        "checkpoint on every call)",
    )
    how.add_argument("--force", action="store_true", help="use an --out that holds another sweep (its runs are reused)")
    add_quiet(how)
    parser.set_defaults(func=run)


def spec_from_args(args: argparse.Namespace) -> SweepSpec:
    base = given(args, TrainConfig)
    name = args.name or args.preset or "grid"
    lists = {
        flag: [] if getattr(args, flag) is None else parse_list(flag, getattr(args, flag), kind)
        for flag, (kind, _) in _LISTS.items()
    }
    return SweepSpec(name=name, preset=args.preset, lr_steps=args.lr_steps, base=base, **lists)


def run(args: argparse.Namespace) -> int:
    from backproplab.sweeps.sweep import estimate_seconds_per_step, run_sweep

    spec = spec_from_args(args)
    say = print if not args.quiet else (lambda message: None)
    out = runs.run_folder(KIND, spec.name, args.out or None)
    warn = lambda message: print(message, file=sys.stderr)  # noqa: E731
    common = {
        "jobs": args.jobs,
        "threads_per_job": args.threads_per_job,
        "scheduler": args.scheduler,
        "force": args.force,
    }
    if args.dry_run:
        result = run_sweep(spec, out, dry_run=True, retry_failed=args.retry_failed, say=warn, **common)
        return _print_plan(result, spec, estimate_seconds_per_step)
    try:
        result = run_sweep(spec, out, retry_failed=args.retry_failed, progress=not args.quiet, say=say, **common)
    except KeyboardInterrupt as interrupt:
        print(
            f"backproplab sweep: {signals.reason(interrupt)}; run the same command again to resume ({out})",
            file=sys.stderr,
        )
        return signals.exit_code(interrupt)
    rows = result["rows"]
    counts = Counter(r["status"] for r in rows)
    print(
        f"{len(rows)} runs ({', '.join(f'{n} {s}' for s, n in sorted(counts.items()))}); trained {result['trained']} "
        f"now in {result['seconds']:.0f} s"
    )
    for row in rows:
        if row["status"] == "failed":
            print(f"failed: {row['run']}: {row.get('error') or 'no reason recorded'}", file=sys.stderr)
    full = [r for r in rows if r["status"] == "completed" and r["steps"] == max(x["steps"] for x in rows)]
    if full:
        best = min(full, key=lambda r: r["validation_error"])
        print(
            f"best on validation error: {best['run']} (validation error {best['validation_error']:.2%}, "
            f"test accuracy {best['test_accuracy']:.2%})"
        )
    print(f"tables and figures: {out}  (view: {hints.tensorboard(out)})")
    unfinished = sum(n for s, n in counts.items() if s not in ("completed", "diverged"))
    if unfinished:
        print(
            f"backproplab sweep: {unfinished} of {len(rows)} runs did not finish; run the same command again "
            "to train them (add --retry-failed to start failed ones from scratch)",
            file=sys.stderr,
        )
    return 1 if unfinished else 0


def _print_plan(result: dict, spec: SweepSpec, seconds_per_step) -> int:
    planned, machine = result["planned"], result["machine"]
    todo = [(c, a) for c, a in planned if a != "skip"]
    for config, action in planned:
        label = {"skip": "done", "resume": "resume", "restart": "again", "new": "new"}[action]
        print(f"{label:7s} {Path(config.out).name}")
    print(f"{len(planned)} runs, {len(planned) - len(todo)} done, {len(todo)} to train", end="")
    if spec.preset == "lr":
        print("; then edge extensions and one full run per optimizer and seed", end="")
    if todo and not machine.scheduler:
        steps = sum(c.steps for c, _ in todo)
        per_step = seconds_per_step(spec.base_config(), machine.threads)
        workers = min(machine.jobs, len(todo))
        plural = "s" if workers != 1 else ""
        print(f"; about {steps * per_step / workers / 60:.0f} min on {workers} worker{plural} (training steps only)")
    else:
        print()
    return 0
