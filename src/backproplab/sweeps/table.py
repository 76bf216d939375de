"""The sweep's table, one row per run, rebuilt from the run folders (``metrics.json``) alone:
``sweep.csv`` and ``sweep.json``."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

from backproplab.io import write_json, write_text
from backproplab.sweeps import state

FACTOR_COLUMNS = ("activation", "init", "optimizer", "lr", "schedule", "seed", "steps")
COLUMNS = (
    "run",
    *FACTOR_COLUMNS,
    "status",
    "steps_done",
    "validation_error",
    "test_error",
    "validation_accuracy",
    "test_accuracy",
    "best_validation_error",
    "best_validation_step",
    "wall_seconds",
    "steps_per_second",
    "parameter_count",
    "diverged_at_step",
    "error",
)


def _number(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def row_for(folder: Path, config: dict[str, Any]) -> dict[str, Any]:
    """The row of the run in ``folder``; ``config`` (its ``TrainConfig.to_dict()``) names its factors
    when the run has not written its own yet."""
    metrics = state.read_metrics(folder) or {}
    config = metrics.get("config") or config
    final = state.numbers(metrics)
    curves = metrics.get("curves") or {}
    val = [v for v in curves.get("validation_error", []) if v is not None and math.isfinite(v)]
    best = min(range(len(val)), key=val.__getitem__) if val else None
    row = {
        "run": Path(folder).name,
        "activation": config["activation"],
        "init": config["init"],
        "optimizer": config["optimizer"],
        "lr": config["learning_rate"],
        "schedule": config.get("schedule", "constant"),
        "seed": config["seed"],
        "steps": config["steps"],
        "status": state.status_of(folder),
        "steps_done": final.get("steps_done") or 0,
        "best_validation_error": val[best] if best is not None else None,
        "best_validation_step": curves["step"][best] if best is not None else None,
    }
    for key in (
        "validation_error",
        "test_error",
        "validation_accuracy",
        "test_accuracy",
        "wall_seconds",
        "steps_per_second",
        "parameter_count",
        "diverged_at_step",
        "error",
    ):
        row[key] = _number(final.get(key))
    return row


def write_tables(root: Path, rows: list[dict[str, Any]], extra: dict[str, Any]) -> None:
    """``sweep.csv`` (the rows) and ``sweep.json`` (``extra`` and the rows), atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: "" if row.get(key) is None else row[key] for key in COLUMNS})
    write_text(Path(root) / "sweep.csv", buffer.getvalue())
    write_json(Path(root) / "sweep.json", {**extra, "runs": rows})
