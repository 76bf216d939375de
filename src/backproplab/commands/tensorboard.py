"""`backproplab tensorboard`: serve TensorBoard on 127.0.0.1 over the runs folder."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from backproplab.errors import UsageError

HOST = "127.0.0.1"  # loopback only: the logs are nobody else's business
DEFAULT_PORT = 6006


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "tensorboard",
        help="view training logs in TensorBoard (bound to 127.0.0.1)",
        description="Start TensorBoard on 127.0.0.1 over a folder of runs (runs/ holds runs/mlp/<name> and "
        "runs/dcn/<name>, shown side by side), print its address and serve until Ctrl-C.",
    )
    parser.add_argument("--logdir", default="runs", help="folder holding the runs (default: runs)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT}; 0 = any free port)"
    )
    parser.set_defaults(func=run)


def tensorboard_argv(logdir: str | Path, port: int, load_fast: bool = True) -> list[str]:
    """The TensorBoard command line we run (argv[0] is ignored by TensorBoard)."""
    argv = ["tensorboard", "--logdir", str(logdir), "--host", HOST, "--port", str(port)]
    if not load_fast:
        argv.append("--load_fast=false")  # pure-Python reader: no data-server subprocess
    return argv


def start(logdir: str | Path, port: int = DEFAULT_PORT, load_fast: bool = True) -> tuple[str, Callable[[], None]]:
    """Start TensorBoard in a background thread. Returns (its URL, a function that stops it)."""
    logdir = Path(logdir)
    if not logdir.is_dir():
        raise UsageError(f"no folder {logdir}; train first (backproplab mlp or backproplab dcn) or pass --logdir DIR")
    if not 0 <= port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535, got {port}")
    from tensorboard import program

    servers: list = []

    def make_server(app, flags):
        server = program.WerkzeugServer(app, flags)
        servers.append(server)
        return server

    board = program.TensorBoard(server_class=make_server)
    board.configure(argv=tensorboard_argv(logdir, port, load_fast))
    try:
        url = board.launch()
    except program.TensorBoardServerException as exc:
        raise UsageError(f"cannot start TensorBoard: {exc.msg}; pass another --port (0 picks a free one)") from exc
    return url, servers[0].shutdown


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
