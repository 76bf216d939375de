"""``backproplab report``: run every experiment and write the HTML report."""

from __future__ import annotations

import argparse
from pathlib import Path

from backproplab.report import SECTIONS, build_report


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "report",
        help="run the experiments and write the HTML report",
        description="Run the experiments of each section and write OUT/index.html, its figures in OUT/figures "
        "and all numbers in OUT/metrics.json.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--out", type=Path, default=Path("report"), help="output folder")
    p.add_argument(
        "--sections",
        default=",".join(SECTIONS.names()),
        help=f"comma-separated sections to include, from: {SECTIONS.choices_text()}",
    )
    p.add_argument("--quick", action="store_true", help="shortened runs, for a fast preview")
    p.add_argument("--seed", type=int, default=0, help="seed for every experiment")
    p.add_argument("--data-dir", type=Path, default=None, help="MNIST folder (default: $BACKPROPLAB_DATA)")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    build_report(
        args.out,
        sections=sections,
        quick=args.quick,
        progress=not args.no_progress,
        seed=args.seed,
        data_dir=args.data_dir,
    )
    print(f"report written to {args.out / 'index.html'}")
    return 0
