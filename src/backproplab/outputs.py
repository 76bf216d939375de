"""Output folders of the page writers (report, explorer, sweep): one rule for when a folder may be written.

A command writes into a folder that is new, empty, or marked as written by that same command
(the mark: a small :data:`MARK` file it leaves there); anything else is refused in one line, so no
command ever overwrites files it did not write (another command's page, a user's ``index.html``).
Run folders follow the same rule with their own files (:func:`backproplab.runs.refuse_or_clear`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from backproplab.errors import UsageError
from backproplab.io import write_json

MARK = ".backproplab-output.json"


def written_by(folder: str | os.PathLike[str]) -> str | None:
    """The command whose mark ``folder`` holds, or None (no mark, or an unreadable one)."""
    try:
        record = json.loads((Path(folder) / MARK).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    command = record.get("written_by") if isinstance(record, dict) else None
    return command if isinstance(command, str) else None


def check_writable(
    folder: str | os.PathLike[str],
    command: str,
    what: str,
    flag: str = "--out",
    ours: Callable[[Path], bool] | None = None,
) -> None:
    """Refuse (one line) to write ``command``'s ``what`` (e.g. "explorer page") into ``folder`` when it
    holds files another command, or a person, put there. ``ours``: recognises a folder the command
    wrote before it left marks."""
    path = Path(folder)
    if not path.exists() and not path.is_symlink():
        return
    if not path.is_dir():
        raise UsageError(f"{flag} {path} is a file; give a folder for the {what}")
    if not any(path.iterdir()) or written_by(path) == command or (ours is not None and ours(path)):
        return
    other = written_by(path)
    holds = f"backproplab {other}'s output" if other else "files that backproplab " + command + " did not write"
    raise UsageError(f"{flag} {path} already holds {holds}; give a new or empty folder for the {what}")


def mark(folder: str | os.PathLike[str], command: str) -> Path:
    """Mark ``folder`` as written by ``command`` (so that the next call may replace its files)."""
    return write_json(Path(folder) / MARK, {"written_by": command})


def check_not_inside(
    inner: str | os.PathLike[str], inner_flag: str, outer: str | os.PathLike[str], outer_flag: str
) -> None:
    """Refuse ``inner`` inside (or equal to) ``outer`` when ``outer`` is replaced whole on every call."""
    a, b = Path(inner).resolve(), Path(outer).resolve()
    if a == b or b in a.parents:
        raise UsageError(
            f"{inner_flag} {inner} is inside {outer_flag} {outer}, which is replaced on every build and would "
            f"delete it; choose a {inner_flag} outside {outer}"
        )
