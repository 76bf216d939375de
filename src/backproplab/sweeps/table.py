"""The sweep's table, one row per run, rebuilt from the run folders (``metrics.json``) alone:
``sweep.csv`` and ``sweep.json``.

Each row also carries its setting's numbers over seeds (a setting: every factor but the seed), the same in
every row of the setting: ``setting_seeds`` (seeds with a finite error) and the mean, sample std (ddof 1,
empty below two seeds), min and max of the final test and validation error (:func:`with_setting_spread`)."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

from backproplab.io import write_json, write_text
from backproplab.report.claims import spread
from backproplab.sweeps import state

FACTOR_COLUMNS = ("activation", "init", "optimizer", "lr", "schedule", "seed", "steps")
SETTING_COLUMNS = tuple(c for c in FACTOR_COLUMNS if c != "seed")
SPREAD_ERRORS = ("test_error", "validation_error")
SPREAD_COLUMNS = (
    "setting_seeds",
    *(f"setting_{error}_{stat}" for error in SPREAD_ERRORS for stat in ("mean", "std", "min", "max")),
)
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
    *SPREAD_COLUMNS,
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


def with_setting_spread(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` with their setting's :data:`SPREAD_COLUMNS` added (new dicts, same order)."""
    settings: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in rows:
        settings.setdefault(tuple(row[c] for c in SETTING_COLUMNS), []).append(row)
    numbers = {}
    for key, members in settings.items():
        of = {error: spread(r.get(error) for r in members).as_dict() for error in SPREAD_ERRORS}
        numbers[key] = {
            "setting_seeds": of["test_error"]["seeds"],
            **{f"setting_{e}_{stat}": of[e][stat] for e in SPREAD_ERRORS for stat in ("mean", "std", "min", "max")},
        }
    return [{**row, **numbers[tuple(row[c] for c in SETTING_COLUMNS)]} for row in rows]


def write_tables(root: Path, rows: list[dict[str, Any]], extra: dict[str, Any]) -> None:
    """``sweep.csv`` (the rows) and ``sweep.json`` (``extra`` and the rows), atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: "" if row.get(key) is None else row[key] for key in COLUMNS})
    write_text(Path(root) / "sweep.csv", buffer.getvalue())
    write_json(Path(root) / "sweep.json", {**extra, "runs": rows})
