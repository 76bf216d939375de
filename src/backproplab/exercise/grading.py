"""Grade many submissions (folders or zips) with the learner's checks: a CSV of scores and a Gradescope
``results.json`` per submission (``score``, ``tests[]`` with ``name``, ``score``, ``max_score``,
``output``, ``visibility``). Points per item come from :data:`~backproplab.exercise.items.ITEMS`.

Every submission is copied (or unzipped) into a temporary folder first, so its checks cannot change
the originals; zips are unpacked without absolute paths, ``..`` or links. A submission larger than
:data:`MAX_SUBMISSION_BYTES` or :data:`MAX_FILES` (a folder's files, or what a zip unpacks to) is not
checked: it scores 0 with one line that says so, and the others are graded.
"""

from __future__ import annotations

import csv
import io
import math
import os
import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from backproplab.errors import UsageError
from backproplab.exercise.handout import PART_FILES
from backproplab.exercise.items import ITEMS, items_of_part, max_score
from backproplab.exercise.sandbox import Limits, check_workspace, counts_line, format_item
from backproplab.io import write_json, write_text
from backproplab.progress import progress_bar

#: The largest submission that is checked: a folder's files (links not followed), or what a zip unpacks to.
MAX_SUBMISSION_BYTES = 64 * 2**20
MAX_FILES = 2000
#: Python's own bytecode caches: neither copied nor counted
PYCACHE = "__pycache__"


class BadSubmission(Exception):
    """A submission that cannot be checked at all (not a zip, no workspace in it); the message says why."""


def submissions_in(folder: Path) -> list[Path]:
    """The submissions: each folder or file directly in ``folder`` (hidden ones skipped), by name."""
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder; give the folder that holds the submissions (zips or folders)")
    found = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    if not found:
        raise UsageError(f"{folder} holds no submissions; put one zip or folder per submission in it")
    return found


def check_size(total_bytes: int, files: int) -> None:
    """BadSubmission when a submission of ``total_bytes`` in ``files`` files is over the limits."""
    if total_bytes > MAX_SUBMISSION_BYTES:
        mib = math.ceil(total_bytes * 10 / 2**20) / 10  # rounded up: never shown equal to the limit
        raise BadSubmission(f"too large: {mib:.1f} MiB, the limit is {MAX_SUBMISSION_BYTES / 2**20:g} MiB")
    if files > MAX_FILES:
        raise BadSubmission(f"too many files: {files}, the limit is {MAX_FILES}")


def folder_size(folder: Path) -> tuple[int, int]:
    """(bytes, files) under ``folder`` as :func:`grade_one` copies it: links counted as themselves and never
    followed, ``__pycache__`` left out."""
    total = files = 0
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if d != PYCACHE]
        for name in [*names, *(d for d in dirs if Path(root, d).is_symlink())]:
            total += Path(root, name).lstat().st_size
            files += 1
    return total, files


def unpack(zip_path: Path, into: Path) -> None:
    """Extract ``zip_path`` into ``into`` safely: no absolute or ``..`` paths, no links, size-limited."""
    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BadSubmission(f"not a zip file or folder ({exc})") from None
    with zf:
        members = zf.infolist()
        check_size(sum(m.file_size for m in members), len(members))
        for m in members:
            name = PurePosixPath(m.filename)
            if name.is_absolute() or ".." in name.parts or (m.external_attr >> 16) & 0o170000 == 0o120000:
                continue  # an absolute path, a way out of the folder, or a symbolic link: never written
            target = into.joinpath(*name.parts)
            if m.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(m) as src, target.open("wb") as dst:
                shutil.copyfileobj(src, dst)


def workspace_root(folder: Path, part: str) -> Path:
    """The shallowest folder under ``folder`` holding the part's first module (zips often add one level)."""
    name = PART_FILES["2" if part == "2" else "1"][0]
    hits = sorted(folder.rglob(name), key=lambda p: (len(p.parts), str(p)))
    hits = [p for p in hits if "__MACOSX" not in p.parts]
    if not hits:
        raise BadSubmission(f"no {name} in the submission")
    return hits[0].parent


def _failed_all(items: list[str], reason: str) -> list[dict[str, Any]]:
    """Every item failed for ``reason``, a submission that could not be checked (``unchecked`` says why)."""
    return [
        {"item": n, "title": ITEMS[n].title, "status": "failed", "summary": reason, "score": 0.0,
         "points": ITEMS[n].points, "details": [], "unchecked": reason}
        for n in items
    ]  # fmt: skip


def grade_one(submission: Path, items: list[str], limits: Limits, part: str = "1") -> list[dict[str, Any]]:
    """The check results of one submission (a folder or a zip), from a temporary copy."""
    with tempfile.TemporaryDirectory(prefix="backproplab-grade-") as tmp:
        copy = Path(tmp, "submission")
        try:
            if submission.is_dir():
                check_size(*folder_size(submission))  # before the copy: a huge folder is never copied
                shutil.copytree(submission, copy, symlinks=True, ignore=shutil.ignore_patterns(PYCACHE))
            else:
                copy.mkdir()
                unpack(submission, copy)
            root = workspace_root(copy, part)
        except BadSubmission as exc:
            return _failed_all(items, str(exc))
        return check_workspace(root, items, limits)


def gradescope_results(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Gradescope's ``results.json`` for one submission's results."""
    tests = [
        {
            "name": f"{r['item']} {r['title']}",
            "number": r["item"],
            "score": float(r["score"]),
            "max_score": float(r["points"]),
            "status": "passed" if r["status"] == "passed" else "failed",
            "output": "\n".join(format_item(r)),
            "visibility": "visible",
        }
        for r in results
    ]
    unchecked = next((r["unchecked"] for r in results if r.get("unchecked")), None)
    return {
        "score": float(sum(t["score"] for t in tests)),
        "output": f"not checked: {unchecked}" if unchecked else counts_line(results),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def grade(
    submissions: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    part: str = "1",
    limits: Limits | None = None,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Grade every submission in ``submissions``; writes ``out/grades.csv`` and ``out/<name>/results.json``.

    Returns one row per submission: its name, the score per item, the total, the maximum and ``unchecked``
    (why it could not be checked: not a zip, too large...; None when it was checked).
    """
    folder, out = Path(submissions), Path(out)
    found = submissions_in(folder)
    items = items_of_part(part)
    limits = limits or Limits()
    if out.resolve() == folder.resolve() or folder.resolve() in out.resolve().parents:
        raise UsageError(f"--out {out} is inside the submissions folder; give a folder outside it")
    rows = []
    bar = progress_bar(len(found), progress, desc="grading", unit="submission")
    try:
        for submission in found:
            name = submission.name.removesuffix(".zip")
            results = grade_one(submission, items, limits, part)
            write_json(out / name / "results.json", gradescope_results(results))
            rows.append(
                {"submission": name, **{r["item"]: r["score"] for r in results},
                 "total": sum(r["score"] for r in results), "max_score": max_score(items),
                 "unchecked": next((r["unchecked"] for r in results if r.get("unchecked")), None)}
            )  # fmt: skip
            if bar is not None:
                bar.update()
    finally:
        if bar is not None:
            bar.close()
    text = io.StringIO()
    writer = csv.DictWriter(
        text, ["submission", *items, "total", "max_score"], lineterminator="\n", extrasaction="ignore"
    )
    writer.writeheader()
    writer.writerows(rows)
    write_text(out / "grades.csv", text.getvalue())
    return rows
