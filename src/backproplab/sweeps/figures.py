"""The sweep's figures, one set per factor that takes two values or more, drawn from the run
folders alone (``metrics.json`` and ``sweep_stats.json``).

A factor's runs are those that differ from the reference run (the course's relu,
truncated_normal, adam run when the sweep has it, else the first run) in that factor and the seed
only (an optimizer keeps its own learning rate). Seeds of one value form a mean with a +-1 std band.

- ``<factor>_curves.png``: validation error and training loss against step, overlaid;
- ``<factor>_test_error.png``: final test error per value (mean +- std over seeds);
- ``activation_inside.png``: per layer, the share of saturated (tanh, sigmoid) or silent (ReLU
  family) units over training; ``init_inside.png``: per layer, activation and weight std;
  ``optimizer_loss.png``: the training loss on a log scale and each layer's weight std;
- ``lr_search.png``: validation error after the short budget against the learning rate.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from backproplab.figures import save_figure
from backproplab.sweeps import stats
from backproplab.sweeps.spec import COURSE
from backproplab.sweeps.state import read_metrics

FIGURE_FACTORS = ("activation", "init", "optimizer", "lr", "schedule")
Groups = dict[Any, list[dict[str, Any]]]


def factor_groups(rows: list[dict[str, Any]]) -> dict[str, Groups]:
    """factor -> value -> the full-budget rows of the one-factor slice through the reference run."""
    if not rows:
        return {}
    longest = max(r["steps"] for r in rows)
    full = [r for r in rows if r["steps"] == longest]
    reference = next((r for r in full if all(r[k] == v for k, v in COURSE.items())), full[0])
    out: dict[str, Groups] = {}
    for factor in FIGURE_FACTORS:
        free = {factor, "lr"} if factor == "optimizer" else {factor}
        groups: Groups = defaultdict(list)
        for row in full:
            if all(row[g] == reference[g] for g in FIGURE_FACTORS if g not in free):
                groups[row[factor]].append(row)
        if len(groups) >= 2:
            out[factor] = dict(groups)
    return out


def _band(ax: Any, curves: list[tuple[list[float], list[float]]], label: str, **style: Any) -> None:
    curves = [(s, v) for s, v in curves if len(s)]
    if not curves:
        return
    n = min(len(s) for s, _ in curves)
    steps = np.asarray(curves[0][0][:n], dtype=float)
    values = np.array([np.asarray(v[:n], dtype=float) for _, v in curves])
    values[~np.isfinite(values)] = np.nan  # a diverged run's inf and NaN leave gaps
    with warnings.catch_warnings():  # all-NaN columns (every seed diverged there) stay NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        mean, std = np.nanmean(values, axis=0), np.nanstd(values, axis=0)
    (line,) = ax.plot(steps, mean, label=label, **style)
    if len(curves) > 1:
        ax.fill_between(steps, mean - std, mean + std, color=line.get_color(), alpha=0.2, linewidth=0)


def _legend(ax: Any) -> None:
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)


def _figure_legend(fig: Any, title: str) -> None:
    """One legend for every panel, outside them on the right: panels of one figure may each show a
    different subset of the values (saturated tanh/sigmoid beside silent ReLU-family units)."""
    entries: dict[str, Any] = {}
    for ax in fig.axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            entries.setdefault(label, handle)
    if entries:
        fig.legend(list(entries.values()), list(entries), loc="outside right upper", fontsize=8, title=title)


def _label(factor: str, value: Any) -> str:
    return f"lr {value:g}" if factor == "lr" else str(value)


def _curves_of(row: dict[str, Any], key: str) -> tuple[list[float], list[float]]:
    curves = (read_metrics(row["folder"]) or {}).get("curves") or {}
    return curves.get("step", []), curves.get(key, [])


def _stats(row: dict[str, Any]) -> dict[str, Any]:
    try:
        return stats.load(Path(row["folder"]), row["activation"])
    except (OSError, KeyError, ValueError):
        return {}


def _series(entry: dict[str, list[float]] | None) -> tuple[list[float], list[float]]:
    return (entry or {}).get("step", []), (entry or {}).get("value", [])


def _per_value(ax: Any, factor: str, groups: Groups, get: Callable[[dict[str, Any]], tuple]) -> None:
    # A value keeps its colour in every panel, also where other values have nothing to show.
    for index, (value, members) in enumerate(groups.items()):
        _band(ax, [get(r) for r in members], _label(factor, value), color=f"C{index % 10}")


def _curves_figure(path: Path, factor: str, groups: Groups) -> None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2))
    _per_value(left, factor, groups, lambda r: _curves_of(r, "validation_error"))
    left.set(xlabel="step", ylabel="validation error", title=f"validation error by {factor}")
    _per_value(right, factor, groups, lambda r: _series(_stats(r).get("loss")))
    right.set(xlabel="step", ylabel="training loss", title=f"training loss by {factor}")
    _legend(left)
    save_figure(fig, path)


def _test_error_figure(path: Path, factor: str, groups: Groups) -> None:
    labels, means, stds = [], [], []
    for value, members in groups.items():
        errors = [r["test_error"] for r in members if r.get("test_error") is not None]
        labels.append(_label(factor, value))
        means.append(np.mean(errors) if errors else np.nan)
        stds.append(np.std(errors) if errors else 0.0)
    fig, ax = plt.subplots(figsize=(max(5, 0.9 * len(labels)), 3.6))
    ax.bar(range(len(labels)), np.asarray(means) * 100, yerr=np.asarray(stds) * 100, capsize=4)
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set(ylabel="final test error (%)", title=f"final test error by {factor} (mean ± std over seeds)")
    save_figure(fig, path)


def _panels(count: int) -> tuple[Any, list[Any]]:
    fig, axes = plt.subplots(1, count, figsize=(3.6 * count + 1.5, 3.6), squeeze=False, layout="constrained")
    return fig, list(axes[0])


def layer_grid_figure(factor: str, groups: Groups, panels: list[tuple[str, str, str]], log: bool) -> Any:
    """``panels``: (stats key, layer, y label); one panel each, the factor's values overlaid."""
    fig, axes = _panels(len(panels))
    for ax, (key, layer, ylabel) in zip(axes, panels, strict=True):
        _per_value(ax, factor, groups, lambda r, key=key, layer=layer: _series(_stats(r).get(key, {}).get(layer)))
        ax.set(xlabel="step", ylabel=ylabel, title=f"{layer}: {ylabel}")
        if log:
            ax.set_yscale("log")
    _figure_legend(fig, factor)
    return fig


def _inside_figures(root: Path, factor: str, groups: Groups) -> list[Path]:
    written = []
    if factor == "activation":
        panels = [
            (kind, layer, f"{kind} share") for kind in ("saturated", "silent") for layer in stats.ACTIVATION_LAYERS
        ]
        save_figure(layer_grid_figure(factor, groups, panels, log=False), root / "activation_inside.png")
        written.append(root / "activation_inside.png")
    elif factor == "init":
        panels = [("activation_std", layer, "activation std") for layer in stats.ACTIVATION_LAYERS]
        panels += [("weight_std", layer, "weight std") for layer in stats.WEIGHT_LAYERS]
        save_figure(layer_grid_figure(factor, groups, panels, log=True), root / "init_inside.png")
        written.append(root / "init_inside.png")
    elif factor == "optimizer":
        # The loss on a log scale beside how far each optimizer moves each layer's weights.
        layers = stats.WEIGHT_LAYERS
        fig, (loss_ax, *weight_axes) = _panels(1 + len(layers))
        _per_value(loss_ax, factor, groups, lambda r: _series(_stats(r).get("loss")))
        loss_ax.set(xlabel="step", ylabel="training loss (log scale)", yscale="log", title="training loss")
        for ax, layer in zip(weight_axes, layers, strict=True):
            _per_value(ax, factor, groups, lambda r, layer=layer: _series(_stats(r).get("weight_std", {}).get(layer)))
            ax.set(xlabel="step", ylabel="weight std", title=f"{layer} weights")
        _figure_legend(fig, factor)
        save_figure(fig, root / "optimizer_loss.png")
        written.append(root / "optimizer_loss.png")
    return written


def lr_search_figure(path: Path, search: dict[str, dict[str, Any]]) -> None:
    """``search``: optimizer -> {"rates": {lr: validation error}, "best": lr}."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for name, entry in search.items():
        rates = sorted((float(lr), err) for lr, err in entry["rates"].items())
        ax.plot([r for r, _ in rates], [np.nan if e is None else e for _, e in rates], "o-", label=name)
    # log y: rates stuck at chance (0.9) would otherwise flatten the 1-5% differences that decide
    ax.set(xscale="log", yscale="log", xlabel="learning rate", ylabel="validation error after the short budget")
    ax.set_title("learning-rate search (missing points diverged)")
    _legend(ax)
    save_figure(fig, path)


def draw_all(root: Path, rows: list[dict[str, Any]]) -> list[Path]:
    """Every per-factor figure of the sweep in ``root``; returns their paths."""
    root = Path(root)
    rows = [{**row, "folder": root / row["run"]} for row in rows]
    written: list[Path] = []
    for factor, groups in factor_groups(rows).items():
        _curves_figure(root / f"{factor}_curves.png", factor, groups)
        _test_error_figure(root / f"{factor}_test_error.png", factor, groups)
        written += [root / f"{factor}_curves.png", root / f"{factor}_test_error.png"]
        written += _inside_figures(root, factor, groups)
    return written
