"""``backproplab explore``: an offline page that replays real NumPy training runs pass by pass."""

from __future__ import annotations

import argparse
from pathlib import Path

from backproplab.errors import UsageError


def _widths(text: str) -> list[tuple[int, ...]]:
    """ "3;16,16" -> [(3,), (16, 16)]: networks separated by ';', layer widths by ','."""
    nets = []
    for part in text.split(";"):
        try:
            widths = tuple(int(w) for w in part.split(","))
        except ValueError:
            raise UsageError(f"--hidden: {part!r} is not a list of widths; use e.g. --hidden '3;16,16'") from None
        if not widths or min(widths) < 1 or max(widths) > 256:
            raise UsageError(f"--hidden: widths must be whole numbers from 1 to 256, got {part!r}")
        nets.append(widths)
    return nets


def _names(text: str, flag: str) -> list[str]:
    names = [n.strip() for n in text.split(",")]
    if not all(names):
        raise UsageError(f"{flag}: empty name in {text!r}; separate names with commas")
    return names


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "explore",
        help="write an interactive offline page that replays NumPy training runs pass by pass",
        description="Train NumPy networks, record them at a few dozen passes, and write one self-contained "
        "OUT/index.html (no network needed) with a pass slider: the decision boundary, each first-layer unit, "
        "the weights and the loss curves. Without --dataset/--hidden/--activation: the handout's moons network "
        "for each activation and hidden size of the report, and deeper networks on spirals and circles.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--out", type=Path, default=Path("explorer"), help="output folder")
    p.add_argument("--dataset", help="comma-separated 2-D data sets, e.g. moons,spirals (a custom grid)")
    p.add_argument("--hidden", help="networks' hidden widths: ';' between networks, ',' between layers, e.g. '3;16,16'")
    p.add_argument("--activation", help="comma-separated activations, e.g. tanh,relu")
    p.add_argument("--passes", type=int, default=20000, help="passes per run of a custom grid")
    p.add_argument("--epsilon", type=float, default=0.01, help="learning rate of a custom grid")
    p.add_argument("--snapshots", type=int, default=40, help="recorded passes per run (spaced geometrically)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from backproplab.explorer import build_explorer, default_specs, grid_specs

    if not 2 <= args.snapshots <= 200:
        raise UsageError(f"--snapshots: give 2 to 200 recorded passes, got {args.snapshots}")
    if args.passes < 1 or args.passes > 1_000_000:
        raise UsageError(f"--passes: give 1 to 1,000,000 passes, got {args.passes}")
    if not (0 < args.epsilon < float("inf")):
        raise UsageError(f"--epsilon: must be a positive number, got {args.epsilon}")
    custom = (args.dataset, args.hidden, args.activation)
    if any(custom):
        specs = grid_specs(
            _names(args.dataset or "moons", "--dataset"),
            _widths(args.hidden or "3"),
            _names(args.activation or "tanh", "--activation"),
            args.passes,
            args.epsilon,
        )
    else:
        specs = default_specs()
    page = build_explorer(args.out, specs, snapshots=args.snapshots, progress=not args.no_progress)
    print(f"explorer written to {page} ({page.stat().st_size / 1e6:.2f} MB, {len(specs)} runs); open it in a browser")
    return 0
