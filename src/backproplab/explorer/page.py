"""Write the explorer: one self-contained ``index.html`` (inline CSS, one classic inline script,
the runs inlined as JSON; no network, no fonts, no CDN), so that it works opened from disk.

Data layout inside the page (``<script type="application/json" id="explorer-data">``):

    {"datasets": {name: {"train": [[x1, x2, label], ...], "test": [...], "n_classes",
                         "bounds": [x_min, x_max, y_min, y_max]}},
     "runs": [run records of :mod:`backproplab.explorer.runs`, ...],
     "live": the live mode's choices and defaults (:func:`backproplab.explorer.live.live_settings`)}

The script is ``static/engine.js`` (the in-page training engine, no DOM) followed by ``static/explorer.js``
(the views, the recorded runs and the live mode).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np

from backproplab import outputs
from backproplab.datasets.registry import Dataset
from backproplab.explorer.live import live_settings
from backproplab.explorer.runs import RunSpec, load_points, train_run
from backproplab.io import write_json, write_text
from backproplab.progress import progress_bar

COMMAND = "explore"

PAD = 0.5  # the handout's margin around the data in plot_decision_boundary


def _asset(name: str) -> str:
    return resources.files("backproplab.explorer").joinpath("static", name).read_text(encoding="utf-8")


def dataset_record(data: Dataset) -> dict:
    """Points (train and test, labels last) and the shown rectangle of a 2-D data set."""
    both = np.vstack([data.X_train, data.X_test])
    lo, hi = both.min(axis=0) - PAD, both.max(axis=0) + PAD

    def rows(X: np.ndarray, y: np.ndarray) -> list[list[float]]:
        return [[round(float(a), 5), round(float(b), 5), int(c)] for (a, b), c in zip(X, y, strict=True)]

    return {
        "train": rows(data.X_train, data.y_train),
        "test": rows(data.X_test, data.y_test),
        "n_classes": data.n_classes,
        "bounds": [float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])],
    }


def _inline_json(obj: object) -> str:
    # "</" would end the <script> element early; JSON allows "<\/" for the same string.
    text = json.dumps(obj, allow_nan=False, separators=(",", ":"))
    return text.replace("</", "<\\/")


def render_page(datasets: dict[str, dict], runs: Sequence[dict]) -> str:
    """The page's HTML for the given data set records and run records."""
    for run in runs:
        for snap in run["snapshots"]:
            for key in ("train_loss", "test_loss"):
                if not math.isfinite(snap[key]):
                    raise ValueError(f"run {run['id']} has a non-finite {key} at pass {snap['pass']}")
    page = _asset("explorer.html")
    data = _inline_json({"datasets": datasets, "runs": list(runs), "live": live_settings()})
    script = _asset("engine.js") + "\n" + _asset("explorer.js")
    # replace the JS last: its text is not scanned for the other placeholders
    return page.replace("/*__CSS__*/", _asset("explorer.css")).replace("__DATA__", data).replace("/*__JS__*/", script)


def build_explorer(
    out_dir: str | os.PathLike[str], specs: Sequence[RunSpec], snapshots: int = 40, progress: bool = True
) -> Path:
    """Train every run in ``specs``, write ``out_dir/index.html`` and ``out_dir/runs.json`` (the same
    records, for other tools); return the page's path."""
    if not specs:
        raise ValueError("no runs to show: give at least one data set, hidden size and activation")
    out = Path(out_dir)
    outputs.check_writable(out, COMMAND, "explorer page", ours=_is_explorer)
    data_by_name: dict[str, Dataset] = {}
    runs = []
    bar = progress_bar(sum(s.passes for s in specs), progress, desc="explorer runs", unit="pass")
    for spec in specs:
        data = data_by_name.setdefault(spec.dataset, load_points(spec.dataset, spec.seed))
        on_pass = None
        if bar is not None:
            start = bar.n
            on_pass = lambda done, start=start: bar.update(start + done - bar.n)  # noqa: E731
        runs.append(train_run(spec, data, snapshots, on_pass=on_pass))
    if bar is not None:
        bar.close()
    datasets = {name: dataset_record(data) for name, data in data_by_name.items()}
    out.mkdir(parents=True, exist_ok=True)
    outputs.mark(out, COMMAND)
    write_json(out / "runs.json", {"datasets": datasets, "runs": runs})
    return write_text(out / "index.html", render_page(datasets, runs))


def _is_explorer(folder: Path) -> bool:
    """An explorer written before pages carried the output mark: its two files, and nothing else."""
    return sorted(p.name for p in folder.iterdir()) == ["index.html", "runs.json"] and (
        "backproplab explorer" in (folder / "index.html").read_text(encoding="utf-8", errors="replace")[:4000]
    )
