"""The quick report the report tests share, built once per test run even across xdist workers.

The first worker to take the lock trains the quick studies into a results folder shared by the run;
the others reuse those finished results and only render their own copy of the page.
"""

from __future__ import annotations

import fcntl
import hashlib
from pathlib import Path

from backproplab.report import build_report


def shared_results(tmp_path_factory, testrun_uid: str) -> Path:
    return tmp_path_factory.getbasetemp().parent / f"report-results-{testrun_uid}"


_BUILT: dict[str, tuple[Path, Path]] = {}  # one page per worker process, shared by the test modules


def build_quick_report(tmp_path_factory, testrun_uid: str) -> tuple[Path, Path]:
    """(report folder, results folder) of a quick report with every section (do not modify it)."""
    if testrun_uid in _BUILT:
        return _BUILT[testrun_uid]
    results = shared_results(tmp_path_factory, testrun_uid)
    results.mkdir(parents=True, exist_ok=True)
    out = tmp_path_factory.mktemp("quick") / "report"
    with open(results.parent / f"{results.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        build_report(out, quick=True, progress=False, results_dir=results)  # MNIST: BACKPROPLAB_DATA
    _BUILT[testrun_uid] = out, results
    return out, results


def build_quick_sections(tmp_path_factory, testrun_uid: str, sections: list[str]) -> tuple[Path, Path]:
    """(report folder, results folder) of a quick report of ``sections`` only, its studies trained into (or
    reused from) the shared results folder, so that the full quick report reuses them and they it."""
    results = shared_results(tmp_path_factory, testrun_uid)
    results.mkdir(parents=True, exist_ok=True)
    out = tmp_path_factory.mktemp("quick-sections") / "report"
    with open(results.parent / f"{results.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        build_report(out, sections=sections, quick=True, progress=False, results_dir=results)
    return out, results


def tree_hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder``, by relative path."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
