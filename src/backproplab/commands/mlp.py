"""``backproplab mlp``: train a from-scratch NumPy network and write its figures and metrics."""

from __future__ import annotations

import argparse
from pathlib import Path

from backproplab.experiments.mlp_run import DATASETS, MLPConfig, run_mlp
from backproplab.scratch import activation_names

_DEFAULTS = MLPConfig()


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "mlp",
        help="train a from-scratch NumPy network (backprop by hand) on a 2-D data set",
        description="Train the three-layer network (input -> hidden -> softmax) with full-batch gradient "
        "descent on the summed cross-entropy + L2 loss, and write dataset.png, decision_boundary.png, "
        "loss.png and metrics.json into --out.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--dataset", default=_DEFAULTS.dataset, choices=sorted(DATASETS), help="data set")
    p.add_argument("--n-samples", type=int, default=_DEFAULTS.n_samples, help="number of points")
    p.add_argument("--noise", type=float, default=_DEFAULTS.noise, help="noise of the data set")
    p.add_argument("--hidden", type=int, default=_DEFAULTS.hidden, help="hidden units")
    p.add_argument(
        "--activation", default=_DEFAULTS.activation, help=f"hidden activation, one of: {', '.join(activation_names())}"
    )
    p.add_argument(
        "--epsilon",
        "--lr",
        dest="epsilon",
        type=float,
        default=_DEFAULTS.epsilon,
        help="learning rate (step on the summed loss)",
    )
    p.add_argument(
        "--passes", dest="num_passes", type=int, default=_DEFAULTS.num_passes, help="full-batch gradient steps"
    )
    p.add_argument(
        "--reg",
        dest="reg_lambda",
        type=float,
        default=_DEFAULTS.reg_lambda,
        help="L2 strength lambda: loss += lambda/2 * sum of squared weights",
    )
    p.add_argument("--seed", type=int, default=_DEFAULTS.seed, help="seed for the data and the weights")
    p.add_argument(
        "--out", type=Path, default=None, help="output folder (default results/mlp/<dataset>-<activation>-<hidden>)"
    )
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = MLPConfig(
        dataset=args.dataset,
        n_samples=args.n_samples,
        noise=args.noise,
        hidden=args.hidden,
        activation=args.activation,
        epsilon=args.epsilon,
        num_passes=args.num_passes,
        reg_lambda=args.reg_lambda,
        seed=args.seed,
    ).validate()
    out = args.out or Path("results", "mlp", f"{config.dataset}-{config.activation}-{config.hidden}")
    metrics = run_mlp(config, out, progress=not args.no_progress)
    print(
        f"final loss {metrics['final_loss_per_example']:.4f} per example (sum {metrics['final_loss']:.3f}), "
        f"training accuracy {metrics['train_accuracy']:.3f}, {metrics['passes']} passes in "
        f"{metrics['seconds']:.1f} s -> {out}"
    )
    return 0
