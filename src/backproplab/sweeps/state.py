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
metrics.json: failed           with ``retry_failed``: train from scratch (a damaged
                               checkpoint is never resumed again)
=============================  =========================================================

``metrics.json`` is the run convention's record (:func:`backproplab.runs.metrics_record`): the
final numbers are under ``final``; :func:`numbers` flattens what a sweep reads from it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from backproplab import runs

METRICS = "metrics.json"
CHECKPOINT = "checkpoint.pt"
SKIP, RESUME, RESTART, NEW = "skip", "resume", "restart", "new"


def read_metrics(folder: Path) -> dict[str, Any] | None:
    """The run's ``metrics.json``, or None when it has none (or an unreadable one)."""
    try:
        return json.loads((Path(folder) / METRICS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def numbers(metrics: dict[str, Any] | None) -> dict[str, Any]:
    """``status``, the ``final`` numbers, ``wall_seconds`` and ``steps_per_second`` of a run record
    in one flat dict (empty for None)."""
    if not metrics:
        return {}
    final = metrics.get("final") if isinstance(metrics.get("final"), dict) else {}
    out = {**final, "status": metrics.get("status")}
    for key in ("wall_seconds", "steps_per_second"):
        out[key] = metrics.get(key)
    return out


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
    if status == "completed" and numbers(metrics).get("steps_done") == steps:
        return SKIP
    if status == "diverged" or (status == "failed" and retry_failed):
        # a failed run resumes on every call; asked to retry, it starts from scratch (a checkpoint
        # that cannot be resumed would otherwise fail it again on every call)
        return RESTART if retry_failed else SKIP
    if (folder / CHECKPOINT).exists():
        return RESUME
    if folder.exists() and any(folder.iterdir()):
        return RESTART
    return NEW


def record_failure(folder: Path, config: dict[str, Any], error: str, steps_done: int = 0) -> dict[str, Any] | None:
    """Write ``metrics.json`` with status failed and ``error`` (a killed worker writes nothing), in
    the run convention's layout. The folder is claimed for the write: when another process holds it
    (its run is in progress), nothing is written and None is returned. OSError (a full disk) passes."""
    engine = config["engine"]  # the run's own (torch or numpy), not the command's name
    if not runs.record_failure(folder, engine, config, error, steps_done):
        return None
    return runs.metrics_record(engine, "failed", config, {"steps_done": steps_done, "error": error}, {}, 0.0, None)
