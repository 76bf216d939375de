"""Stopping signals, handled one way for every command and every worker process.

``timeout``, a closed terminal and schedulers stop a program with SIGTERM or SIGHUP, not Ctrl-C.
:func:`as_interrupt` (the command line runs every command under it) makes them raise
:class:`RunInterrupted`, a ``KeyboardInterrupt``, so that the code that keeps a checkpoint, writes
``metrics.json`` with status interrupted, removes a half-built report or stops a sweep's workers on
Ctrl-C does the same on them. A worker process, which must finish its current step before it
stops, uses :func:`requested` instead: the signals only set a flag it checks between steps.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: The signals that mean "stop" besides Ctrl-C's SIGINT.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class RunInterrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived: stops a run exactly as Ctrl-C does. ``signum``: the signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum


@contextmanager
def as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise :class:`RunInterrupted`. Like Ctrl-C, a second
    signal raises again (a run that is slow to stop can be stopped harder). No-op outside the main
    thread, where Python cannot set signal handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise RunInterrupted(signum)

    previous = {sig: signal.signal(sig, stop) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def requested() -> Iterator[list[int]]:
    """Within the block, SIGINT, SIGTERM and SIGHUP only record themselves: yields a list that holds
    the signal numbers received (empty while none has come), for a worker to check between steps."""
    received: list[int] = []

    def note(signum: int, frame: object) -> None:
        received.append(signum)

    previous = {sig: signal.signal(sig, note) for sig in (signal.SIGINT, *STOP_SIGNALS)}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def reason(interrupt: BaseException) -> str:
    """What stopped the program, for its last line: "stopped by SIGTERM", or "interrupted" (Ctrl-C)."""
    return str(interrupt) or "interrupted"


def exit_code(interrupt: BaseException) -> int:
    """The shell's convention, 128 + the signal: 130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP."""
    return 128 + int(getattr(interrupt, "signum", signal.SIGINT))
