"""``backproplab mlp``: train a from-scratch NumPy network (or a grid of them) and write figures and metrics."""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

from backproplab import runs
from backproplab.datasets import dataset_names
from backproplab.errors import UsageError
from backproplab.experiments.mlp_run import DIVERGED, ENGINE, MLPConfig, run_mlp, run_name
from backproplab.scratch import activation_names
from backproplab.scratch.layer import init_names
from backproplab.scratch.optimizers import optimizer_names

_DEFAULTS = MLPConfig()


def _int_list(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected whole numbers separated by commas, e.g. 10,10,10; got {text!r}"
        ) from None
    return values


def _str_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows ``(default: ...)`` only where there is a default worth showing and the help has none."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


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
        "accuracy.png and metrics.json (also for a run that diverges). With --grid: one network per depth x "
        "width x activation, all decision boundaries in grid.png, accuracies in grid.csv/grid.json/grid_accuracy.png.",
        formatter_class=_HelpFormatter,
    )
    data = p.add_argument_group("data")
    data.add_argument("--dataset", default=_DEFAULTS.dataset, choices=dataset_names(), help="data set")
    data.add_argument("--n-samples", type=int, default=None, help="points to generate (2-D sets; default: 200)")
    data.add_argument("--noise", type=float, default=None, help="noise of a 2-D set (default: the generator's)")
    data.add_argument("--test-size", type=float, default=_DEFAULTS.test_size, help="test fraction")

    net = p.add_argument_group("network")
    net.add_argument(
        "--hidden",
        type=_int_list,
        default=None,
        help="hidden widths: one number for the three-layer network, or a comma list (10,10,10) for a deeper "
        f"one (default {_DEFAULTS.hidden})",
    )
    net.add_argument(
        "--activation",
        type=_str_list,
        default=None,
        help=f"hidden activation, or a comma list with one per hidden layer; one of: {', '.join(activation_names())} "
        f"(default {_DEFAULTS.activation})",
    )
    net.add_argument(
        "--init",
        default=None,
        help=f"weight initialisation: {', '.join(init_names())} (default scaled_normal; --grid: he)",
    )
    net.add_argument(
        "--reg",
        dest="reg_lambda",
        type=float,
        default=_DEFAULTS.reg_lambda,
        help="L2 strength lambda: loss += lambda/2 * sum of squared weights",
    )
    net.add_argument("--dtype", choices=["float64", "float32"], default=_DEFAULTS.dtype, help="floating-point type")

    train = p.add_argument_group("training")
    train.add_argument(
        "--optimizer", default=None, help=f"one of: {', '.join(optimizer_names())} (default sgd; --grid: adam)"
    )
    train.add_argument(
        "--epsilon",
        "--lr",
        dest="epsilon",
        type=float,
        default=None,
        help=f"learning rate; steps are on the loss summed over the batch (default {_DEFAULTS.epsilon})",
    )
    train.add_argument(
        "--passes",
        "--epochs",
        dest="num_passes",
        type=int,
        default=None,
        help=f"passes over the training data (default {_DEFAULTS.num_passes}; --grid: 300)",
    )
    train.add_argument("--batch-size", type=int, default=None, help="mini-batch size (default full batch; --grid: 32)")
    train.add_argument(
        "--lr-decay", type=float, default=None, help="learning rate factor per pass (default 1; --grid: 0.99)"
    )
    train.add_argument("--val-split", dest="validation_split", type=float, default=None, help="validation fraction")
    train.add_argument("--patience", type=int, default=None, help="early stopping: passes without improvement")
    train.add_argument("--seed", type=int, default=_DEFAULTS.seed, help="seed for the data, weights and shuffling")

    grid = p.add_argument_group("grid (--grid)")
    grid.add_argument("--grid", action="store_true", help="train a grid of depths x widths x activations")
    grid.add_argument("--depths", type=_int_list, default="1,2,3,5", help="numbers of hidden layers")
    grid.add_argument("--widths", type=_int_list, default="3,10", help="hidden layer widths")
    grid.add_argument("--activations", type=_str_list, default="tanh,relu", help="activations")

    out = p.add_argument_group("output")
    out.add_argument(
        "--out",
        type=Path,
        default=None,
        help="run folder (default runs/mlp/<name>; --grid: results/mlp-grid/<dataset>)",
    )
    out.add_argument(
        "--name", default=None, help="run name (default from the settings, e.g. moons-tanh-3); one folder name"
    )
    out.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a run already in the run folder (deletes every file a run writes there)",
    )
    out.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run)


# Training settings whose default depends on the mode (single run: the handout's; grid: GRID_DEFAULTS).
_MODE_DEPENDENT = ("optimizer", "epsilon", "num_passes", "batch_size", "lr_decay", "init")


def _config_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    names = {f.name for f in fields(MLPConfig)}
    kwargs = {k: v for k, v in vars(args).items() if k in names and v is not None}
    for key in ("hidden", "activation"):
        kwargs.pop(key, None)
    return kwargs


def run(args: argparse.Namespace) -> int:
    if args.grid:
        return _run_grid(args)
    kwargs = _config_kwargs(args)
    if args.hidden is not None:
        kwargs["hidden"] = args.hidden[0] if len(args.hidden) == 1 else args.hidden
    if args.activation is not None:
        kwargs["activation"] = args.activation[0] if len(args.activation) == 1 else args.activation
    config = MLPConfig(**kwargs).validate()
    out = runs.run_folder(ENGINE, args.name or run_name(config), args.out)
    try:
        with runs.signals_as_interrupt():
            record = run_mlp(config, out, progress=not args.no_progress, overwrite=args.overwrite)
    except DIVERGED as exc:
        raise UsageError(f"{exc} (curves and metrics.json are in the run folder)") from None
    except KeyboardInterrupt as interrupt:
        print(f"backproplab mlp: {interrupt or 'interrupted'}; metrics.json says how far it got", file=sys.stderr)
        return runs.exit_code(interrupt)
    final = record["final"]
    print(
        f"final loss {final['final_loss_per_example']:.4f} per example (sum {final['final_loss']:.3f}), "
        f"training accuracy {final['train_accuracy']:.3f}, test accuracy {final['test_accuracy']:.3f}, "
        f"{final['passes_run']} passes in {record['wall_seconds']:.1f} s -> {out}"
    )
    return 0


def _run_grid(args: argparse.Namespace) -> int:
    from backproplab.experiments.grid import GRID_DEFAULTS, run_grid

    if args.hidden is not None or args.activation is not None:
        raise UsageError("--hidden and --activation set one network; with --grid use --depths, --widths, --activations")
    if args.name is not None:
        raise UsageError("--name names one run; with --grid use --out")
    settings = _config_kwargs(args)
    settings.pop("dataset")
    base = MLPConfig(**{**GRID_DEFAULTS, **{k: v for k, v in settings.items() if k in _MODE_DEPENDENT}})
    rest = {k: v for k, v in settings.items() if k not in _MODE_DEPENDENT}
    out = args.out or Path("results", "mlp-grid", args.dataset)
    try:
        result = run_grid(
            args.dataset,
            args.depths,
            args.widths,
            args.activations,
            out_dir=out,
            base=base,
            progress=not args.no_progress,
            **rest,
        )
    except DIVERGED as exc:
        raise UsageError(str(exc)) from None
    best = result.best()
    print(
        f"{len(result.rows)} networks; best test accuracy {best['test_accuracy']:.3f} "
        f"({best['activation']}, {best['depth']} x {best['width']}) -> {result.figure or result.heatmap}"
    )
    return 0
