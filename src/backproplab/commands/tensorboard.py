"""`backproplab tensorboard`: serve TensorBoard on 127.0.0.1 over the runs folder."""

from __future__ import annotations

import argparse
import time

from backproplab.runs import RUNS_DIR
from backproplab.tensorboard_server import DEFAULT_PORT, start, tensorboard_argv

__all__ = ["DEFAULT_PORT", "register", "run", "start", "tensorboard_argv"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "tensorboard",
        help="view training logs in TensorBoard (bound to 127.0.0.1)",
        description="Start TensorBoard on 127.0.0.1 over a folder of runs (runs/ holds runs/mlp/<name> and "
        "runs/dcn/<name>, shown side by side), print its address and serve until Ctrl-C.",
    )
    parser.add_argument("--logdir", default=str(RUNS_DIR), help=f"folder holding the runs (default: {RUNS_DIR})")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT}; 0 = any free port)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    url, stop = start(args.logdir, args.port)
    print(f"TensorBoard {url} (logdir {args.logdir}); press Ctrl-C to stop", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        stop()
        print("TensorBoard stopped")
    return 0
