"""Sizes checked against the machine before anything is allocated: memory and CPU cores."""

from __future__ import annotations

import os
from pathlib import Path

from backproplab.errors import UsageError


def available_memory() -> int | None:
    """Bytes of memory a new allocation can get (Linux ``MemAvailable``), or None where unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _gib(n: float) -> str:
    return f"{n / 2**30:,.1f} GiB"


def check_memory(needed: float, what: str, fix: str) -> None:
    """Refuse (one line) when ``needed`` bytes exceed the memory available. ``what`` names the
    allocation (e.g. "--hidden 100000000"), ``fix`` says what to change."""
    available = available_memory()
    if available is not None and needed > available:
        raise UsageError(f"{what} needs about {_gib(needed)} of memory but {_gib(available)} is available; {fix}")


def cpu_cores() -> int:
    """CPU cores this machine has (at least 1)."""
    return os.cpu_count() or 1


def check_threads(threads: int | str | None, flag: str = "--threads") -> None:
    """Refuse more threads than cores (one line); None (the library's choice) passes."""
    cores = cpu_cores()
    if isinstance(threads, int) and threads > cores:  # "auto" and None are never more than the cores
        raise UsageError(f"{flag}: {threads} threads but this machine has {cores} CPU cores; use at most {cores}")
