"""A run folder's state, and what a sweep does about it (no torch here).

=============================  =========================================================
found in the folder            action
=============================  =========================================================
nothing                        train
metrics.json: completed        skip (when it reached the asked steps)
metrics.json: diverged         skip; train again only with ``retry_failed``
interrupted, failed, no        resume from ``checkpoint.pt`` when there is one, else
metrics.json but files         train from scratch (failures are the machine's: a killed
                               worker, a full disk; they are retried on the next call)
=============================  =========================================================
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from backproplab.io import write_json

METRICS = "metrics.json"
CHECKPOINT = "checkpoint.pt"
SKIP, RESUME, RESTART, NEW = "skip", "resume", "restart", "new"


def read_metrics(folder: Path) -> dict[str, Any] | None:
    """The run's ``metrics.json``, or None when it has none (or an unreadable one)."""
    try:
        return json.loads((Path(folder) / METRICS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def status_of(folder: Path) -> str:
    """completed, diverged, interrupted, failed, or new (nothing there yet)."""
    metrics = read_metrics(folder)
    if metrics is not None:
        return str(metrics.get("status", "failed"))
    return "interrupted" if (Path(folder) / CHECKPOINT).exists() else "new"


def decide(folder: Path, steps: int, retry_failed: bool) -> str:
    """:data:`SKIP`, :data:`RESUME`, :data:`RESTART` or :data:`NEW` for the run in ``folder``."""
    folder = Path(folder)
    metrics = read_metrics(folder)
    status = metrics.get("status") if metrics else None
    if status == "completed" and metrics.get("steps_done") == steps:
        return SKIP
    if status == "diverged":
        return RESTART if retry_failed else SKIP
    if (folder / CHECKPOINT).exists():
        return RESUME
    if folder.exists() and any(folder.iterdir()):
        return RESTART
    return NEW


def record_failure(folder: Path, config: dict[str, Any], error: str, steps_done: int = 0) -> dict[str, Any]:
    """Write ``metrics.json`` with status failed and ``error`` (a killed worker writes nothing)."""
    metrics = {"status": "failed", "error": error, "steps_done": steps_done, "config": config}
    write_json(Path(folder) / METRICS, metrics)
    return metrics
