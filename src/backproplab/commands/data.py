"""``backproplab data``: check (``verify``) or fetch (``download``) the MNIST / Fashion-MNIST files."""

from __future__ import annotations

import argparse

from backproplab.datasets import mnist
from backproplab.errors import UsageError
from backproplab.registry import Registry
from backproplab.settings import add_quiet, common_help

#: MNIST and Fashion-MNIST, as the data layer names them.
IMAGE_SETS: Registry[None] = Registry("data set", dict.fromkeys(mnist.DATASETS))

_WHERE = (
    "Files are looked for in --data-dir, else $BACKPROPLAB_DATA (the folder of the four files, or a parent "
    "holding mnist/ and fashion-mnist/), else /usr/share/datasets/fashion-mnist (Fashion-MNIST only) and "
    "the per-user cache ($XDG_CACHE_HOME or ~/.cache)/backproplab/<dataset>."
)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "data",
        help="check or download the MNIST / Fashion-MNIST files",
        description="Check (verify) or fetch (download) the four IDX files of MNIST or Fashion-MNIST. " + _WHERE,
    )
    actions = p.add_subparsers(dest="data_action", metavar="ACTION", required=True)

    v = actions.add_parser(
        "verify",
        help="check presence, structure and SHA-256 of the files and print the split sizes",
        description="Check that the four files are present, well-formed IDX and byte-identical (size and "
        "SHA-256 of the decompressed content) to the published ones; print the train/validation/test sizes. "
        "Each file's status is ok, missing, not a file, unreadable, damaged or checksum mismatch. Never "
        "downloads. " + _WHERE,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    _common(v)
    v.set_defaults(func=run_verify)

    d = actions.add_parser(
        "download",
        help="download the missing files from public mirrors, verified",
        description="Download the files that are missing (with --force: also those that fail their check) "
        "from public mirrors, tried in turn; each archive is verified (SHA-256 of its content) before it is "
        "written, atomically. " + _WHERE,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    _common(d)
    d.add_argument("--force", action="store_true", help="also replace files that are present but damaged")
    add_quiet(d)
    d.set_defaults(func=run_download)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help=common_help(
            "--data-dir", "(or Fashion-MNIST's), or a parent of mnist/ and fashion-mnist/ (default: searched as above)"
        ),
    )
    p.add_argument("--dataset", default="mnist", metavar="NAME", help=f"which data set: {IMAGE_SETS.choices_text()}")
    p.add_argument(
        "--validation-size",
        type=int,
        default=mnist.DEFAULT_VALIDATION_SIZE,
        help="training images held out (the first ones) for validation, for the split sizes printed",
    )


def _print_report(report: dict) -> None:
    print(f"{mnist.DISPLAY_NAMES[report['dataset']]} in {report['directory']}")
    for entry in report["files"]:  # statuses: ok, missing, not a file, unreadable, damaged, checksum mismatch
        name = entry["path"] or f"{entry['name']}[.gz]"
        count = f"  {entry['count']} examples" if entry["count"] is not None else ""
        print(f"  {entry['status']:<17} {name}{count}")
    if report["splits"]:
        s = report["splits"]
        print(f"splits: train {s['train']}, validation {s['validation']}, test {s['test']}")


def run_verify(args: argparse.Namespace) -> int:
    dataset = IMAGE_SETS.canonical(args.dataset)
    report = mnist.verify(getattr(args, "data_dir", None), dataset, args.validation_size)
    _print_report(report)
    if not report["ok"]:
        raise UsageError(_one_line(report))
    return 0


def _one_line(report: dict) -> str:
    """The first problem, how many more there are, and the fix (unless the problem states its own)."""
    problems = report["problems"]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    fix = "" if any("validation_size" in p for p in problems) else mnist.fix_hint(report)
    return f"{problems[0]}{more}{'. ' + fix if fix else ''}"


def run_download(args: argparse.Namespace) -> int:
    dataset = IMAGE_SETS.canonical(args.dataset)
    directory = mnist.fetch(getattr(args, "data_dir", None), dataset, progress=not args.quiet, force=args.force)
    report = mnist.verify(directory, dataset, args.validation_size)
    _print_report(report)
    if not report["ok"]:
        raise UsageError(_one_line(report))
    return 0
