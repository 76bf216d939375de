"""Finished results, one folder per study and settings: reused when complete, retrained on request.

    <root>/<study>-<key>/config.json    the settings; ``key`` = first 12 hex digits of the SHA-256
                                        of their canonical JSON, so other settings get another folder
                         arrays.npz     curves, decision regions, weights (NumPy arrays)
                         metrics.json   the numbers, written LAST with ``"status": "completed"``
                         ...            whatever the study writes itself (e.g. a TensorBoard run)

A folder counts as finished only when its ``metrics.json`` says completed and its ``config.json``
equals the settings asked for; anything else is cleared and computed again. Report sections read
these folders and never train (see :mod:`backproplab.report`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from backproplab.io import save_with, write_json

Arrays = dict[str, np.ndarray]
#: ``compute(config, folder) -> (metrics, arrays)``: trains, may write extra files into ``folder``.
Compute = Callable[[dict[str, Any], Path], tuple[dict[str, Any], Arrays]]


@dataclass
class Result:
    """One finished study: its folder, settings, numbers and arrays (loaded on first use)."""

    folder: Path
    config: dict[str, Any]
    metrics: dict[str, Any]
    reused: bool = False
    _arrays: Arrays | None = field(default=None, repr=False)

    @property
    def arrays(self) -> Arrays:
        if self._arrays is None:
            path = self.folder / "arrays.npz"
            with np.load(path, allow_pickle=False) as data:
                self._arrays = {name: data[name] for name in data.files}
        return self._arrays


def settings_key(config: Mapping[str, Any]) -> str:
    """12 hex digits identifying ``config`` (key order does not matter)."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def result_folder(root: str | Path, study: str, config: Mapping[str, Any]) -> Path:
    return Path(root) / f"{study}-{settings_key(config)}"


def load_result(folder: str | Path, config: Mapping[str, Any] | None = None) -> Result | None:
    """The finished result in ``folder`` (None when absent, unfinished, or made with other settings)."""
    folder = Path(folder)
    try:
        saved = json.loads((folder / "config.json").read_text())
        metrics = json.loads((folder / "metrics.json").read_text())
    except (OSError, ValueError):
        return None
    if metrics.get("status") != "completed" or not (folder / "arrays.npz").is_file():
        return None
    if config is not None and saved != json.loads(json.dumps(config)):
        return None
    return Result(folder, saved, metrics, reused=True)


def run_or_reuse(
    root: str | Path, study: str, config: Mapping[str, Any], compute: Compute, *, rerun: bool = False
) -> Result:
    """The finished result of ``study`` with ``config`` under ``root``: reused, or computed by ``compute``."""
    config = json.loads(json.dumps(config))  # plain JSON types, as they will be read back
    folder = result_folder(root, study, config)
    if not rerun:
        found = load_result(folder, config)
        if found is not None:
            return found
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    write_json(folder / "config.json", config)
    metrics, arrays = compute(config, folder)
    status = metrics.get("status", "completed")
    if status != "completed":
        raise ValueError(f"the {study} study in {folder} ended with status {status!r}; its result is not kept")
    save_with(folder / "arrays.npz", lambda tmp: np.savez_compressed(tmp, **arrays))
    metrics = {**metrics, "status": "completed"}
    write_json(folder / "metrics.json", metrics)
    return Result(folder, config, metrics, _arrays=dict(arrays))
