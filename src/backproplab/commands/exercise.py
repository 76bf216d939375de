"""``backproplab exercise``: the assignment to fill in (start), its checks (check), hand-in (pack), grading (grade)."""

from __future__ import annotations

import argparse
from pathlib import Path

from backproplab.exercise.grading import MAX_FILES, MAX_SUBMISSION_BYTES
from backproplab.exercise.items import ITEMS
from backproplab.exercise.sandbox import Limits
from backproplab.settings import add_arguments, add_quiet, common_help, given

_SAFETY = (
    "Each item's check runs the learner's code in a child process with a time limit, a memory limit "
    "(address space) and an output limit; this contains endless loops, crashes and huge allocations, "
    "not a deliberate attack (see the README, 'For instructors')."
)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "exercise",
        help="the assignment as starter code to fill in, with checks that say what is wrong",
        description="The assignment as an exercise: start a workspace of starter files (the "
        "reference's signatures and docstrings, bodies to fill in), check it item by item against the "
        "reference and finite differences, pack the hand-in zip, or grade many submissions.",
    )
    actions = p.add_subparsers(dest="exercise_action", metavar="ACTION", required=True)

    s = actions.add_parser(
        "start",
        help="write a workspace of starter files to fill in",
        description="Write the starter files (part 1: three_layer_neural_network.py, n_layer_neural_network.py; "
        "part 2: dcn_mnist.py, PyTorch) and a README to a new folder. Refuses a folder that holds anything but an "
        "untouched starter.",
    )
    s.add_argument("--out", type=Path, required=True, metavar="DIR", help=common_help("--out", "(the new workspace)"))
    s.add_argument("--part", choices=["1", "2", "all"], default="1", help="which part's starter (default: 1)")
    s.set_defaults(func=run_start)

    c = actions.add_parser(
        "check",
        help="check a workspace item by item: passed, not started, or what is wrong",
        description="Run each item's check on the workspace: the learner's functions against the reference "
        "and finite differences, with the relative error, the entry with the largest error and the common "
        "mistake that explains it. Exit status 1 when an item failed. " + _SAFETY,
    )
    c.add_argument("folder", type=Path, metavar="DIR", help="the workspace")
    c.add_argument("items", nargs="*", metavar="ITEM", help=f"items to check (default: all of {ITEMS.choices_text()})")
    c.add_argument("--json", type=Path, default=None, metavar="FILE", help="also write the results as JSON")
    c.add_argument("--verbose", action="store_true", help="show the errors of passed items too")
    add_arguments(c, Limits)
    c.set_defaults(func=run_check)

    k = actions.add_parser(
        "pack",
        help="write the hand-in zip (code and report), refusing while a check fails",
        description="Check the workspace and write the hand-in zip: the learner's modules, the report folder "
        "DIR/report (from backproplab report --implementation DIR --out DIR/report) and checks.json.",
    )
    k.add_argument("folder", type=Path, metavar="DIR", help="the workspace")
    k.add_argument("--zip", type=Path, default=None, metavar="FILE", help="the hand-in zip (default: DIR/handin.zip)")
    k.add_argument("--anyway", action="store_true", help="pack even when a check fails or is not started")
    add_arguments(k, Limits)
    k.set_defaults(func=run_pack)

    g = actions.add_parser(
        "grade",
        help="grade a folder of submissions: grades.csv and a Gradescope results.json each",
        description="Check every submission (a zip or a folder, one per entry of SUBMISSIONS) with the "
        "learner's checks; write OUT/grades.csv (score per item, total) and OUT/<submission>/results.json "
        "in Gradescope's format. A submission over "
        f"{MAX_SUBMISSION_BYTES // 2**20} MiB or {MAX_FILES} files (a folder's files, or what a zip unpacks to) is "
        "not checked: it scores 0 with one line that says why, and the others are graded. " + _SAFETY,
    )
    g.add_argument("submissions", type=Path, metavar="SUBMISSIONS", help="folder of submissions")
    g.add_argument(
        "--out", type=Path, default=Path("grades"), metavar="DIR", help=common_help("--out", "(default: grades)")
    )
    g.add_argument("--part", choices=["1", "2", "all"], default="1", help="the items of which part (default: 1)")
    add_quiet(g)
    add_arguments(g, Limits)
    g.set_defaults(func=run_grade)


def _items(names: list[str], folder: Path) -> list[str]:
    from backproplab.exercise.items import items_of_part
    from backproplab.exercise.workspace import workspace_part

    if not names:
        return items_of_part(workspace_part(folder))
    return [ITEMS.canonical(n) for n in names]


def run_start(args: argparse.Namespace) -> int:
    from backproplab.exercise.workspace import start_workspace

    written = start_workspace(args.out, args.part)
    print(f"workspace written to {args.out} ({', '.join(p.name for p in written)}); read {args.out / 'README.md'}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    from backproplab.exercise.sandbox import check_workspace, format_results
    from backproplab.exercise.workspace import workspace_modules
    from backproplab.io import write_json

    workspace_modules(args.folder)
    items = _items(args.items, args.folder)
    results = check_workspace(args.folder, items, Limits(**given(args, Limits)))
    print(format_results(results, verbose=args.verbose))
    if args.json is not None:
        write_json(args.json, {"workspace": str(args.folder), "results": results})
    return 1 if any(r["status"] == "failed" for r in results) else 0


def run_pack(args: argparse.Namespace) -> int:
    from backproplab.exercise.packing import REPORT_DIR, pack

    zip_path, results = pack(args.folder, args.zip, anyway=args.anyway, limits=Limits(**given(args, Limits)))
    passed = sum(r["status"] == "passed" for r in results)
    print(f"hand-in written to {zip_path} ({passed} of {len(results)} checks passed)")
    if not (args.folder / REPORT_DIR / "index.html").is_file():
        print(
            f"note: no report in {args.folder / REPORT_DIR}; build it with "
            f"backproplab report --implementation {args.folder} --out {args.folder / REPORT_DIR}, then pack again"
        )
    return 0


def run_grade(args: argparse.Namespace) -> int:
    from backproplab.exercise.grading import grade

    rows = grade(
        args.submissions, args.out, part=args.part, limits=Limits(**given(args, Limits)), progress=not args.quiet
    )
    for row in rows:
        why = f" (not checked: {row['unchecked']})" if row["unchecked"] else ""
        print(f"{row['submission']}: {row['total']:g} / {row['max_score']:g}{why}")
    print(f"grades written to {args.out / 'grades.csv'}, results.json per submission in {args.out}")
    return 0
