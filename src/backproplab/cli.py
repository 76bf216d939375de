"""The ``backproplab`` command line.

Each subcommand lives in :mod:`backproplab.commands` as a module with ``register(subparsers)``;
this file only assembles them and turns user-facing errors into one line and a non-zero exit.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from backproplab import __version__, hints, signals
from backproplab.commands import COMMANDS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="backproplab",
        description="How neural networks learn: backprop from scratch (NumPy), a deep CNN on MNIST "
        "(PyTorch) monitored in TensorBoard, and an HTML report of every experiment.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        module.register(subparsers)
    return parser


def subcommand_parsers(
    parser: argparse.ArgumentParser | None = None, prefix: str = ""
) -> dict[str, argparse.ArgumentParser]:
    """Every runnable subcommand's parser, by its words after ``backproplab`` (``"data verify"``...):
    what the grammar test and the guide's command pages walk, so no list of commands is kept by hand."""
    parser = parser or build_parser()
    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not groups:
        return {prefix: parser}
    found: dict[str, argparse.ArgumentParser] = {}
    for group in groups:
        for name, sub in group.choices.items():
            found.update(subcommand_parsers(sub, f"{prefix} {name}".strip()))
    return found


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        # every command stops on SIGTERM/SIGHUP as on Ctrl-C, and its hints repeat the user's arguments
        with signals.as_interrupt(), hints.invocation(argv):
            result = args.func(args)
    except KeyboardInterrupt as interrupt:
        print(f"backproplab {args.command}: {signals.reason(interrupt)}", file=sys.stderr)
        return signals.exit_code(interrupt)
    except MemoryError:
        print(
            f"backproplab {args.command}: error: out of memory; choose smaller sizes (e.g. --hidden, --n-samples, "
            "--batch-size) or close other programs",
            file=sys.stderr,
        )
        return 2
    except (ValueError, OSError) as exc:
        # ValueError covers UsageError and the engines' argument checks; OSError covers files.
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"backproplab {args.command}: error: {message}", file=sys.stderr)
        return 2
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
