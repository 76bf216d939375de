"""How well the 2c ranking at a shorter budget predicts the ranking at the course's 5,500 steps (Kendall's tau).

Reads two finished sweeps (nothing is trained): ``--full``, a ``backproplab sweep --preset course`` at 5,500
steps (its runs' evaluations at 1,100, 2,200, ... are the intermediate budgets), and optionally ``--short``,
the default report's short sweep (``<results>/sweep-runs-<key>/course``). Prints a markdown table per factor
and budget (:func:`backproplab.sweeps.agreement.markdown_table`) with the machine and the date.

    python benchmarks/rank_agreement.py --full runs/sweeps/course [--short runs/report/sweep-runs-.../course]

``--seeds 0`` ranks those seeds only, in both sweeps: a two-seed course sweep whose first seed has finished
(hours of CPU per seed) can be measured while the second trains.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from backproplab.errors import UsageError
from backproplab.sweeps.agreement import markdown_table, rank_agreement, read_sweep, trained_on
from backproplab.sweeps.spec import parse_list


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", required=True, metavar="DIR", help="a finished `sweep --preset course` folder")
    parser.add_argument("--short", metavar="DIR", help="a finished shorter sweep (the default report's)")
    parser.add_argument("--seeds", metavar="A,B,...", help="rank only these seeds (default: every seed of the sweeps)")
    args = parser.parse_args(argv)
    try:
        seeds = parse_list("seeds", args.seeds, int) if args.seeds else None
        agreements = rank_agreement(args.full, args.short, seeds)
    except UsageError as exc:
        print(f"rank_agreement: {exc}", file=sys.stderr)
        return 2
    full = f"{args.full}, trained on {trained_on(read_sweep(args.full, '--full', seeds=seeds), args.full)}"
    if args.short:
        short_rows = read_sweep(args.short, "--short", None, seeds)
        full += f"; short: {args.short}, trained on {trained_on(short_rows, args.short)}"
    print(f"Rank agreement with the {agreements[0].full.steps:,}-step ranking" if agreements else "No factor to rank")
    which = f"seeds {', '.join(map(str, seeds))}" if seeds else "every seed"
    print(f"({datetime.now(UTC):%Y-%m-%d}; {which}; full: {full})")
    print()
    print(markdown_table(agreements))
    return 0


if __name__ == "__main__":
    sys.exit(main())
