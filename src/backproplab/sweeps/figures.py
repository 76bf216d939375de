"""The sweep's figures, one set per factor that takes two values or more, drawn from the run
folders alone (``metrics.json`` and ``sweep_stats.json``).

A factor's runs are those that differ from the reference run (the course's relu,
truncated_normal, adam run when the sweep has it, else the first run) in that factor and the seed
only (an optimizer keeps its own learning rate). Seeds of one value are drawn as their mean with the
min-max over the seeds shaded (or as bars), only where there are two seeds or more; each figure says which.

Readable at page width: errors and shares in %, a log axis where the values span a decade or more
(sigmoid's 75% beside 2%), at most :data:`COLUMNS` panels per row, one legend per figure.

- ``<factor>_curves.png``: validation error and training loss against step, overlaid;
- ``<factor>_test_error.png``: final test error per value (mean and min-max over seeds);
- ``activation_inside.png``: per layer, the share of saturated (tanh, sigmoid) or silent (ReLU
  family) units over training; ``init_inside.png``: per layer, activation and weight std;
  ``optimizer_loss.png``: the training loss on a log scale and each layer's weight std;
- ``lr_search.png``: validation error after the short budget against the learning rate.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import ticker

from backproplab.figures import save_figure
from backproplab.sweeps import stats
from backproplab.sweeps.spec import COURSE
from backproplab.sweeps.state import read_metrics

FIGURE_FACTORS = ("activation", "init", "optimizer", "lr", "schedule")
COLUMNS = 3
PANEL_SIZE = (3.3, 2.7)  # inches: three panels and the legend fit the page's 1,100 px at 110 dpi
#: A log axis once the largest value is this many times the smallest.
DECADE = 10.0
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


def _band(ax: Any, curves: list[tuple[list[float], list[float]]], label: str, scale: float = 1.0, **style: Any) -> None:
    """The mean over the seeds' ``curves`` (times ``scale``), the min-max over them shaded when two or more."""
    curves = [(s, v) for s, v in curves if len(s)]
    if not curves:
        return
    n = min(len(s) for s, _ in curves)
    steps = np.asarray(curves[0][0][:n], dtype=float)
    values = scale * np.array([np.asarray(v[:n], dtype=float) for _, v in curves])
    values[~np.isfinite(values)] = np.nan  # a diverged run's inf and NaN leave gaps
    with warnings.catch_warnings():  # all-NaN columns (every seed diverged there) stay NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        mean, low, high = np.nanmean(values, axis=0), np.nanmin(values, axis=0), np.nanmax(values, axis=0)
    (line,) = ax.plot(steps, mean, label=label, **style)
    if len(curves) > 1:
        ax.fill_between(steps, low, high, color=line.get_color(), alpha=0.2, linewidth=0)


def seed_note(groups: Groups, shown: str = "shaded") -> str:
    """What a figure's lines and spread are: ``"mean of 2 seeds, shaded: min–max over seeds"`` or
    ``"one seed: no spread shown"``."""
    counts = sorted({len(members) for members in groups.values()})
    if counts[-1] < 2:
        return "one seed: no spread shown"
    seeds = str(counts[0]) if len(counts) == 1 else f"{counts[0]}–{counts[-1]}"
    return f"mean of {seeds} seeds, {shown}: min–max over seeds"


def log_if_decades(ax: Any, more: Sequence[float] = ()) -> None:
    """A log y axis when the positive values drawn on ``ax`` (and ``more``) span :data:`DECADE` or more."""
    values = [np.asarray(line.get_ydata(), dtype=float) for line in ax.get_lines()] + [np.asarray(more, dtype=float)]
    values += [np.asarray(c.get_paths()[0].vertices[:, 1]) for c in ax.collections if c.get_paths()]
    flat = np.concatenate(values) if values else np.array([])
    flat = flat[np.isfinite(flat) & (flat > 0)]
    if len(flat) and flat.max() >= DECADE * flat.min():
        log_axis(ax)


def log_axis(ax: Any) -> None:
    """A log y axis labelled in plain numbers (0.05, 2, 20), not 5 × 10⁻²: every power of ten, and between them
    every multiple over a range under 3×, 2, 3 and 5 times it under 30×, 2 and 5 times it under 1000×."""
    ax.set_yscale("log")
    low, high = ax.get_ylim()
    ratio = high / low if low > 0 else np.inf
    shown = set(range(2, 10)) if ratio < 3 else {2, 3, 5} if ratio < 30 else {2, 5} if ratio < 1000 else set()

    def plain(value: float, _: Any) -> str:
        return f"{value:g}"

    def some(value: float, _: Any) -> str:
        mantissa = round(value / 10 ** np.floor(np.log10(value))) if value > 0 else 0
        return f"{value:g}" if mantissa in shown else ""

    ax.yaxis.set_major_formatter(ticker.FuncFormatter(plain))
    ax.yaxis.set_minor_formatter(ticker.FuncFormatter(some))


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


def _per_value(
    ax: Any, factor: str, groups: Groups, get: Callable[[dict[str, Any]], tuple], scale: float = 1.0
) -> None:
    # A value keeps its colour in every panel, also where other values have nothing to show.
    for index, (value, members) in enumerate(groups.items()):
        _band(ax, [get(r) for r in members], _label(factor, value), scale=scale, color=f"C{index % 10}")


def _subset(groups: Groups) -> int | None:
    """The validation images the runs' evaluations before the last scored (``eval_images``), else None."""
    for members in groups.values():
        for row in members:
            config = (read_metrics(row["folder"]) or {}).get("config") or {}
            if config.get("eval_images"):
                return int(config["eval_images"])
    return None


def curves_figure(factor: str, groups: Groups) -> Any:
    """Validation error (%) and training loss against step, one line per value, one legend; where the runs
    evaluated a validation subset before their last evaluation, the panel's title says so."""
    fig, (left, right) = _panels(2, PANEL_SIZE[0] * 1.5)
    _per_value(left, factor, groups, lambda r: _curves_of(r, "validation_error"), scale=100)
    subset = _subset(groups)
    title = f"validation error by {factor}" + (f"\n(first {subset:,} images but the last point)" if subset else "")
    left.set(xlabel="step", ylabel="validation error (%)", title=title)
    _per_value(right, factor, groups, lambda r: _series(_stats(r).get("loss")))
    right.set(xlabel="step", ylabel="training loss", title=f"training loss by {factor}")
    for ax in (left, right):
        log_if_decades(ax)
    _figure_legend(fig, factor)
    fig.suptitle(seed_note(groups), fontsize=9)
    return fig


def final_error_figure(factor: str, groups: Groups) -> Any:
    """Each value's mean final test error (a dot), with its min-max over seeds where it has two or more."""
    labels, means, lows, highs = [], [], [], []
    for value, members in groups.items():
        errors = 100 * np.array([r["test_error"] for r in members if r.get("test_error") is not None], dtype=float)
        errors = errors[np.isfinite(errors)]
        labels.append(_label(factor, value))
        means.append(errors.mean() if len(errors) else np.nan)
        lows.append(errors.min() if len(errors) >= 2 else np.nan)
        highs.append(errors.max() if len(errors) >= 2 else np.nan)
    fig, ax = plt.subplots(figsize=(max(4.5, 0.8 * len(labels)), 3.4), layout="constrained")
    x, means_ = np.arange(len(labels)), np.asarray(means)
    ax.plot(x, means_, "o", color="C0")
    spread = np.isfinite(lows)
    if spread.any():
        below, above = (means_ - np.asarray(lows))[spread], (np.asarray(highs) - means_)[spread]
        ax.errorbar(x[spread], means_[spread], yerr=[below, above], fmt="none", ecolor="C0", capsize=5)
    ax.set_xticks(x, labels, rotation=30, ha="right")
    ax.set_xlim(-0.5, len(labels) - 0.5)
    ax.set_ylabel("final test error (%)")
    ax.set_title(f"final test error by {factor}\n({seed_note(groups, shown='bars')})", fontsize=10)
    log_if_decades(ax, [*lows, *highs])
    ax.grid(axis="y", which="both", alpha=0.3)
    return fig


def _panels(count: int, width: float = PANEL_SIZE[0]) -> tuple[Any, list[Any]]:
    """A grid of ``count`` panels, at most :data:`COLUMNS` a row (the unused cells removed)."""
    columns = min(COLUMNS, count)
    rows = -(-count // columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(width * columns + 1.6, PANEL_SIZE[1] * rows), squeeze=False, layout="constrained"
    )
    cells = list(axes.ravel())
    for ax in cells[count:]:
        ax.remove()
    return fig, cells[:count]


def layer_grid_figure(
    factor: str, groups: Groups, panels: list[tuple[str, str, str]], log: bool, scale: float = 1.0
) -> Any:
    """``panels``: (stats key, layer, y label); one panel each, the factor's values (times ``scale``) overlaid."""
    fig, axes = _panels(len(panels))
    for ax, (key, layer, ylabel) in zip(axes, panels, strict=True):
        get = lambda r, key=key, layer=layer: _series(_stats(r).get(key, {}).get(layer))  # noqa: E731
        _per_value(ax, factor, groups, get, scale=scale)
        ax.set(xlabel="step", ylabel=ylabel, title=f"{layer}: {ylabel}")
        if log:
            log_axis(ax)
    _figure_legend(fig, factor)
    fig.suptitle(seed_note(groups), fontsize=9)
    return fig


def _inside_figures(root: Path, factor: str, groups: Groups) -> list[Path]:
    written = []
    if factor == "activation":
        panels = [
            (kind, layer, f"{kind} share (%)") for kind in ("saturated", "silent") for layer in stats.ACTIVATION_LAYERS
        ]
        save_figure(layer_grid_figure(factor, groups, panels, log=False, scale=100), root / "activation_inside.png")
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
        loss_ax.set(xlabel="step", ylabel="training loss (log scale)", title="training loss")
        log_axis(loss_ax)
        for ax, layer in zip(weight_axes, layers, strict=True):
            _per_value(ax, factor, groups, lambda r, layer=layer: _series(_stats(r).get("weight_std", {}).get(layer)))
            ax.set(xlabel="step", ylabel="weight std", title=f"{layer} weights")
        _figure_legend(fig, factor)
        fig.suptitle(seed_note(groups), fontsize=9)
        save_figure(fig, root / "optimizer_loss.png")
        written.append(root / "optimizer_loss.png")
    return written


def lr_search_figure(path: Path, search: dict[str, dict[str, Any]]) -> None:
    """``search``: optimizer -> {"rates": {lr: validation error}, "best": lr}."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for name, entry in search.items():
        rates = sorted((float(lr), err) for lr, err in entry["rates"].items())
        ax.plot([r for r, _ in rates], [np.nan if e is None else 100 * e for _, e in rates], "o-", label=name)
    # log y: rates stuck at chance (90%) would otherwise flatten the 1-5% differences that decide
    ax.set(xscale="log", xlabel="learning rate", ylabel="validation error after the short budget (%)")
    log_axis(ax)
    ax.set_title("learning-rate search (missing points diverged)")
    _legend(ax)
    save_figure(fig, path)


def draw_all(root: Path, rows: list[dict[str, Any]]) -> list[Path]:
    """Every per-factor figure of the sweep in ``root``; returns their paths."""
    root = Path(root)
    rows = [{**row, "folder": root / row["run"]} for row in rows]
    written: list[Path] = []
    for factor, groups in factor_groups(rows).items():
        save_figure(curves_figure(factor, groups), root / f"{factor}_curves.png")
        save_figure(final_error_figure(factor, groups), root / f"{factor}_test_error.png")
        written += [root / f"{factor}_curves.png", root / f"{factor}_test_error.png"]
        written += _inside_figures(root, factor, groups)
    return written
