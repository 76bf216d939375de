"""``backproplab mlp``: train a from-scratch NumPy network (or a grid of them) and write figures and metrics."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path

from backproplab import runs, signals
from backproplab.errors import TrainingDiverged, UsageError
from backproplab.experiments.grid import GRID_DEFAULTS
from backproplab.experiments.mlp_run import COMMAND, ENGINE, MLPConfig, run_mlp, run_name
from backproplab.settings import add_arguments, add_quiet, comma_list, common_help, given


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "mlp",
        help="train a from-scratch NumPy network (backprop by hand), or a grid of depths x widths",
        description="Train a from-scratch NumPy network: input -> hidden layer(s) -> softmax, on the summed "
        "cross-entropy + L2 loss. The defaults are the course handout's three-layer run (3 tanh units, 200 "
        "moons points, 20,000 full-batch steps). 2-D data sets train on all generated points and are tested "
        "on a fresh draw (seed + 1000); tabular sets use a stratified, standardised split. Each run is a "
        "folder runs/mlp/<name> holding config.json, TensorBoard events (backproplab tensorboard), "
        "decision_boundary.png and dataset.png (2-D data) or confusion_matrix.png (tabular), loss.png, "
        "accuracy.png and metrics.json (also for a run that diverges: a NaN loss, or a loss above 10x its first value "
        "at two records in a row, the DCN's rule for a monitoring interval). With --grid: one network per depth x "
        "width x activation, all decision boundaries in grid.png, accuracies in grid.csv/grid.json/grid_accuracy.png.",
    )
    add_arguments(p, MLPConfig, notes={name: f"--grid: {value}" for name, value in GRID_DEFAULTS.items()})

    grid = p.add_argument_group("grid (--grid)")
    grid.add_argument("--grid", action="store_true", help="train a grid of depths x widths x activations")
    grid.add_argument(
        "--depths",
        type=comma_list(int, "1,2,3,5"),
        default=[1, 2, 3, 5],
        metavar="LIST",
        help="numbers of hidden layers (default: 1,2,3,5)",
    )
    grid.add_argument(
        "--widths",
        type=comma_list(int, "3,10"),
        default=[3, 10],
        metavar="LIST",
        help="hidden layer widths (default: 3,10)",
    )
    grid.add_argument(
        "--activations",
        type=comma_list(str, "tanh,relu"),
        default=["tanh", "relu"],
        metavar="LIST",
        help="activations (default: tanh,relu)",
    )

    out = p.add_argument_group("output")
    out.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help=common_help("--out", "(default: runs/mlp/<name>; --grid: runs/mlp-grid/<dataset>)"),
    )
    out.add_argument(
        "--name",
        default=None,
        metavar="NAME",
        help=common_help("--name", "(default: from the settings, e.g. moons-tanh-3)"),
    )
    out.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a run already in the run folder (deletes every file a run writes there)",
    )
    add_quiet(out)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.grid:
        return _run_grid(args)
    config = MLPConfig(**given(args, MLPConfig))
    out = runs.run_folder(COMMAND, args.name or run_name(config), args.out)
    try:
        record = run_mlp(config, out, progress=not args.quiet, overwrite=args.overwrite)
    except TrainingDiverged as exc:
        raise UsageError(f"{exc} (curves and metrics.json are in the run folder)") from None
    except OSError as exc:  # a full disk, a read-only folder: one line, and metrics.json where it fits
        if exc.errno not in runs.WRITE_ERRORS:
            raise
        raise runs.failed_to_write(out, ENGINE, asdict(config), exc, COMMAND) from None
    except KeyboardInterrupt as interrupt:
        print(f"backproplab mlp: {signals.reason(interrupt)}; metrics.json says how far it got", file=sys.stderr)
        return signals.exit_code(interrupt)
    final = record["final"]
    print(
        f"final loss {final['final_loss_per_example']:.4f} per example (sum {final['final_loss']:.3f}), "
        f"training accuracy {final['train_accuracy']:.3f}, test accuracy {final['test_accuracy']:.3f}, "
        f"{final['steps_done']} passes in {record['wall_seconds']:.1f} s -> {out}"
    )
    return 0


def _run_grid(args: argparse.Namespace) -> int:
    from backproplab.experiments.grid import run_grid

    settings = given(args, MLPConfig)
    if "hidden" in settings or "activation" in settings:
        raise UsageError("--hidden and --activation set one network; with --grid use --depths, --widths, --activations")
    if args.name is not None:
        raise UsageError("--name names one run; with --grid use --out")
    dataset = MLPConfig(dataset=settings.pop("dataset", MLPConfig.dataset)).dataset
    base = MLPConfig(**{**GRID_DEFAULTS, **{k: v for k, v in settings.items() if k in GRID_DEFAULTS}})
    rest = {k: v for k, v in settings.items() if k not in GRID_DEFAULTS}
    out = runs.run_folder("mlp-grid", dataset, args.out)
    try:
        result = run_grid(
            dataset,
            args.depths,
            args.widths,
            args.activations,
            out_dir=out,
            base=base,
            progress=not args.quiet,
            **rest,
        )
    except TrainingDiverged as exc:
        raise UsageError(str(exc)) from None
    best = result.best()
    print(
        f"{len(result.rows)} networks; best test accuracy {best['test_accuracy']:.3f} "
        f"({best['activation']}, {best['depth']} x {best['width']}) -> {result.figure or result.heatmap}"
    )
    return 0
