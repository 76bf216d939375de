"""The hand-in zip of one workspace: the learner's code and report, once every check passes."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

from backproplab.errors import UsageError
from backproplab.exercise.items import items_of_part
from backproplab.exercise.sandbox import Limits, check_workspace
from backproplab.exercise.workspace import workspace_modules, workspace_part
from backproplab.io import atomic_path, to_strict_json

REPORT_DIR = "report"
HANDIN = "handin.zip"


def handin_files(folder: Path) -> list[Path]:
    """The files that go into the zip: the workspace's modules and the report folder (no links, no caches)."""
    files = [folder / name for name in workspace_modules(folder)]
    report = folder / REPORT_DIR
    if report.is_dir():
        for root, dirs, names in os.walk(report):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not Path(root, d).is_symlink())
            files += [Path(root, n) for n in sorted(names) if not n.startswith(".") and not Path(root, n).is_symlink()]
    return files


def refusal(results: list[dict[str, Any]]) -> str | None:
    """Why the workspace may not be handed in yet (the first item that did not pass), else None."""
    for r in results:
        if r["status"] == "failed":
            return f"check {r['item']} failed: {r['summary']}"
        if r["status"] == "not started":
            return f"check {r['item']} is not started"
    return None


def pack(
    folder: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    anyway: bool = False,
    limits: Limits | None = None,
) -> tuple[Path, list[dict[str, Any]]]:
    """Check the workspace and write the hand-in zip (default ``folder/handin.zip``); returns (zip, results).

    Refuses (UsageError naming the first check that did not pass) unless ``anyway``; the zip holds
    ``checks.json``, the results it was packed with.
    """
    folder = Path(folder)
    files = handin_files(folder)
    results = check_workspace(folder, items_of_part(workspace_part(folder)), limits)
    reason = refusal(results)
    if reason and not anyway:
        raise UsageError(f"{reason}; fix it (backproplab exercise check {folder}) or pack with --anyway")
    zip_path = Path(out) if out is not None else folder / HANDIN
    with atomic_path(zip_path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in files:
            zf.write(path, path.relative_to(folder).as_posix())
        zf.writestr("checks.json", json.dumps(to_strict_json(results), indent=2))
    return zip_path, results
