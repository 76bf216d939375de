"""Atomic file output: every file the project writes appears whole or not at all.

Files end with the mode a plain ``open(path, "w")`` would give them: an existing file keeps its
mode, a new one gets ``0o666`` less the process umask (0644 under the usual umask 022), never the
owner-only 0600 of the temporary file it was written as. Folders are made with ``0o777`` less the
umask (0755). JSON is strict: NaN and infinities are written as ``null`` (JSON has no such numbers,
and browsers and strict parsers reject the bare ``NaN`` Python would write).
"""

from __future__ import annotations

import json
import math
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np


def current_umask() -> int:
    """The process umask, read without changing it where the system tells (Linux's /proc)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: the only portable way to read it is to set it, briefly
    os.umask(mask)
    return mask


def plain_file_mode(path: str | os.PathLike[str]) -> int:
    """The permission bits ``open(path, "w")`` would leave: the existing file's, else 0o666 & ~umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return 0o666 & ~current_umask()


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    The temporary file keeps the final suffix so that writers which infer the format from the
    name (matplotlib, torch) behave the same. Missing parent folders are made (0o777 & ~umask).
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.stem}.", suffix=f".tmp{final.suffix}", dir=final.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, plain_file_mode(final))  # mkstemp makes 0600; the writer may have replaced the file
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return write_bytes(path, text.encode("utf-8"))


def to_strict_json(obj: Any) -> Any:
    """``obj`` with NumPy scalars and arrays, tuples and paths made plain, and every non-finite float
    (NaN, +-inf, in any container) replaced by None, so that it is valid JSON."""
    if isinstance(obj, dict):
        return {key: to_strict_json(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_strict_json(value) for value in obj]
    if isinstance(obj, np.ndarray | np.generic):
        return to_strict_json(obj.tolist())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    return obj


def _unknown(obj: Any) -> Any:
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")


def write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as indented, strict JSON atomically: NaN and infinities become ``null``
    (see :func:`to_strict_json`); NumPy scalars and arrays, and paths, are converted."""
    return write_text(path, json.dumps(to_strict_json(obj), indent=2, default=_unknown, allow_nan=False) + "\n")


def save_with(path: str | os.PathLike[str], writer: Callable[[Path], object]) -> Path:
    """Call ``writer(tmp_path)`` and move the result onto ``path`` atomically (for savefig, torch.save...)."""
    with atomic_path(path) as tmp:
        writer(tmp)
    return Path(path)
