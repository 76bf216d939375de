"""``backproplab report``: run (or reuse) every experiment and write the HTML report."""

from __future__ import annotations

import argparse
from pathlib import Path

from backproplab.errors import UsageError
from backproplab.report import SECTIONS, build_report
from backproplab.report.build import DEFAULT_RESULTS_DIR, MAX_SEED
from backproplab.settings import Invalid, add_quiet, common_help, parse_list


def default_sections() -> str:
    return ",".join(SECTIONS.names())


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "report",
        help="run the experiments and write the HTML report",
        description="Run each section's experiments (or reuse their finished results) and write OUT/index.html, "
        "its figures in OUT/figures and all numbers in OUT/metrics.json. The page is built in a temporary "
        "folder beside OUT and replaces the previous report only when complete.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--out", type=Path, default=Path("report"), metavar="DIR", help=common_help("--out"))
    p.add_argument(
        "--sections",
        default=default_sections(),
        help=f"comma-separated sections to include, from: {SECTIONS.choices_text()}",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="shortened runs, for a fast preview")
    mode.add_argument(
        "--full",
        action="store_true",
        help="the 2c sweep at the course's 5,500 steps with a learning-rate search per optimizer and two seeds "
        "(hours on a CPU; the default trains it at a reduced step count)",
    )
    p.add_argument(
        "--seed", type=int, default=0, metavar="N", help=common_help("--seed", f"of every experiment (0 to {MAX_SEED})")
    )
    p.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help=common_help("--data-dir", "(default: $BACKPROPLAB_DATA, else the download cache)"),
    )
    p.add_argument(
        "--results",
        type=Path,
        default=DEFAULT_RESULTS_DIR,
        help="folder of finished experiments, one subfolder per study and settings; reused when complete",
    )
    p.add_argument(
        "--course-sweep",
        type=Path,
        default=None,
        metavar="DIR",
        help="a finished `backproplab sweep --preset course` (5,500 steps): 2c shows its ranking per factor beside "
        "this report's, with Kendall's tau, and marks each finding that changes with the budget (--full compares "
        "with its own 5,500-step sweep)",
    )
    p.add_argument("--rerun", action="store_true", help="train every experiment again instead of reusing results")
    p.add_argument("--single-file", action="store_true", help="embed the figures in index.html (data URIs)")
    add_quiet(p)
    p.add_argument(
        "--implementation",
        type=Path,
        default=None,
        metavar="DIR",
        help="build the sections of the exercise workspace DIR (backproplab exercise start) with its networks once "
        "their checks pass: part 1's moons (1a-1e, after checks 1b-1e) and deep (1f, after 1b and 1f); part 2's "
        "dcn (2a, 2b: the learner's DCN and training step in the MNIST run loop, after 2a, 2a-step and 2b) and "
        "tensorboard (that run's views); by default every section the workspace has files for. The page says "
        "which implementation ran",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        sections = parse_list(args.sections, example="moons,deep")
    except Invalid as exc:
        raise UsageError(f"--sections: {exc}") from None
    implementation = None
    if args.implementation is not None:
        from backproplab.exercise.implementation import REQUIRED, load_implementation, sections_of

        if args.sections == default_sections():
            sections = sections_of(args.implementation)
        sections = [SECTIONS.canonical(s) for s in sections]
        others = [s for s in sections if s not in REQUIRED]
        if others:
            raise UsageError(
                f"--implementation builds the sections {', '.join(REQUIRED)} with your network; "
                f"leave out {', '.join(others)} (or build them without --implementation)"
            )
        if "tensorboard" in sections and "dcn" not in sections:
            raise UsageError(
                "--implementation: the tensorboard section shows your dcn section's run; add dcn to --sections"
            )
        implementation = load_implementation(args.implementation, sections)
        print(f"the report runs your network: {implementation.label}")
    build_report(
        args.out,
        sections=sections,
        quick=args.quick,
        full=args.full,
        progress=not args.quiet,
        seed=args.seed,
        data_dir=args.data_dir,
        results_dir=args.results,
        rerun=args.rerun,
        single_file=args.single_file,
        implementation=implementation,
        course_sweep=args.course_sweep,
    )
    print(f"report written to {args.out / 'index.html'}")
    return 0
