"""Serve TensorBoard on 127.0.0.1 over a folder of runs, in a background thread (the command and the report use it)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from backproplab.errors import UsageError

HOST = "127.0.0.1"  # loopback only: the logs are nobody else's business
DEFAULT_PORT = 6006


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
