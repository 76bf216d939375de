"""Figures shared by the CLI and the report (matplotlib, headless-safe, written atomically)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt  # picks the non-interactive Agg backend by itself when there is no screen
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from backproplab.io import save_with

PathLike = str | os.PathLike[str]
CMAP = plt.cm.Spectral


def save_figure(fig: Figure, path: PathLike, dpi: int = 110) -> Path:
    """Save ``fig`` to ``path`` atomically (format from the suffix) and close it."""
    try:
        return save_with(path, lambda tmp: fig.savefig(tmp, dpi=dpi, bbox_inches="tight"))
    finally:
        plt.close(fig)


def _finish(fig: Figure, path: PathLike | None) -> Figure:
    if path is not None:
        save_figure(fig, path)
    elif matplotlib.get_backend().lower() != "agg":
        plt.show()
    return fig


def grid_for(X: np.ndarray, padding: float = 0.5, resolution: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """A (resolution x resolution) mesh covering the 2-D points X: (N, 2) with ``padding`` on each side."""
    x_min, x_max = X[:, 0].min() - padding, X[:, 0].max() + padding
    y_min, y_max = X[:, 1].min() - padding, X[:, 1].max() + padding
    return np.meshgrid(np.linspace(x_min, x_max, resolution), np.linspace(y_min, y_max, resolution))


def draw_decision_boundary(
    ax: Axes,
    pred_func: Callable[[np.ndarray], np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    *,
    X_test: np.ndarray | None = None,
    y_test: np.ndarray | None = None,
    title: str | None = None,
) -> None:
    """Fill the plane by ``pred_func`` (any (M, 2) -> (M,) class predictor) and scatter the points.

    Training points are circles; test points, if given, are triangles.
    """
    points = X if X_test is None else np.vstack([X, X_test])
    xx, yy = grid_for(points)
    zz = np.asarray(pred_func(np.c_[xx.ravel(), yy.ravel()])).reshape(xx.shape)
    draw_regions(ax, xx[0], yy[:, 0], zz, X, y, X_test=X_test, y_test=y_test, title=title)


def draw_regions(
    ax: Axes,
    xs: np.ndarray,
    ys: np.ndarray,
    regions: np.ndarray,
    X: np.ndarray,
    y: np.ndarray,
    *,
    X_test: np.ndarray | None = None,
    y_test: np.ndarray | None = None,
    title: str | None = None,
) -> None:
    """Fill the plane by precomputed ``regions`` (len(ys), len(xs)) of classes on the grid ``xs`` x ``ys``
    and scatter the points: training points as circles, test points (if given) as triangles."""
    regions = np.asarray(regions)
    n_classes = int(max(y.max(), regions.max(), -1 if y_test is None else y_test.max())) + 1
    levels = np.arange(n_classes + 1) - 0.5
    ax.contourf(xs, ys, regions, levels=levels, cmap=CMAP, alpha=0.75, vmin=0, vmax=max(n_classes - 1, 1))
    style = dict(cmap=CMAP, vmin=0, vmax=max(n_classes - 1, 1), edgecolors="k", linewidths=0.4)
    ax.scatter(X[:, 0], X[:, 1], c=y, s=14, label="train", **style)
    if X_test is not None and y_test is not None:
        ax.scatter(X_test[:, 0], X_test[:, 1], c=y_test, s=18, marker="^", label="test", **style)
        ax.legend(loc="lower right", fontsize=7, framealpha=0.8)
    ax.set_xlim(xs.min(), xs.max())
    ax.set_ylim(ys.min(), ys.max())
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)


def plot_regions_grid(
    panels: Sequence[tuple[str, np.ndarray]],
    xs: np.ndarray,
    ys: np.ndarray,
    X: np.ndarray,
    y: np.ndarray,
    *,
    ncols: int = 4,
    X_test: np.ndarray | None = None,
    y_test: np.ndarray | None = None,
    suptitle: str | None = None,
    path: PathLike | None = None,
) -> Figure:
    """Several precomputed decision-region pictures side by side: ``panels`` is a list of (title, regions)."""
    ncols = max(1, min(ncols, len(panels)))
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.9 * nrows), squeeze=False)
    for ax, (title, regions) in zip(axes.ravel(), panels, strict=False):
        draw_regions(ax, xs, ys, regions, X, y, X_test=X_test, y_test=y_test, title=title)
    for ax in axes.ravel()[len(panels) :]:
        ax.axis("off")
    if suptitle:
        fig.suptitle(suptitle, fontsize=11)
    fig.tight_layout()
    return _finish(fig, path)


def plot_decision_boundary(
    pred_func: Callable[[np.ndarray], np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    *,
    title: str | None = None,
    path: PathLike | None = None,
    X_test: np.ndarray | None = None,
    y_test: np.ndarray | None = None,
) -> Figure:
    """One decision-boundary figure; saved to ``path`` when given, else shown (if there is a screen)."""
    fig, ax = plt.subplots(figsize=(5, 4))
    draw_decision_boundary(ax, pred_func, X, y, X_test=X_test, y_test=y_test, title=title)
    return _finish(fig, path)


def plot_dataset(X: np.ndarray, y: np.ndarray, *, title: str | None = None, path: PathLike | None = None) -> Figure:
    """Scatter plot of a 2-D data set coloured by label."""
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap=CMAP, s=16, edgecolors="k", linewidths=0.4)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title:
        ax.set_title(title, fontsize=10)
    return _finish(fig, path)


def plot_curves(
    steps: Sequence[float],
    curves: Mapping[str, Sequence[float]],
    *,
    xlabel: str = "pass",
    ylabel: str = "loss",
    title: str | None = None,
    logy: bool = False,
    path: PathLike | None = None,
) -> Figure:
    """Line plot of several named curves that share the x values ``steps``."""
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for label, values in curves.items():
        ax.plot(steps, values, label=label, linewidth=1.4)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    if len(curves) > 1:
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title, fontsize=10)
    return _finish(fig, path)


def plot_boundary_grid(
    panels: Sequence[tuple[str, Callable[[np.ndarray], np.ndarray]]],
    X: np.ndarray,
    y: np.ndarray,
    *,
    ncols: int = 4,
    X_test: np.ndarray | None = None,
    y_test: np.ndarray | None = None,
    suptitle: str | None = None,
    path: PathLike | None = None,
) -> Figure:
    """Several decision boundaries side by side: ``panels`` is a list of (title, predictor)."""
    xx, yy = grid_for(X if X_test is None else np.vstack([X, X_test]))
    grid = np.c_[xx.ravel(), yy.ravel()]
    regions = [(title, np.asarray(pred(grid)).reshape(xx.shape)) for title, pred in panels]
    return plot_regions_grid(
        regions, xx[0], yy[:, 0], X, y, ncols=ncols, X_test=X_test, y_test=y_test, suptitle=suptitle, path=path
    )


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """(n_classes, n_classes) int64 counts: row = true class, column = predicted class."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    return np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def plot_confusion_matrix(
    matrix: np.ndarray,
    *,
    class_names: Sequence[str] | None = None,
    title: str | None = None,
    path: PathLike | None = None,
) -> Figure:
    """Heat map of a confusion matrix (rows true, columns predicted) with the counts written in."""
    matrix = np.asarray(matrix)
    k = matrix.shape[0]
    names = list(class_names) if class_names is not None else [str(i) for i in range(k)]
    size = max(3.6, 0.45 * k + 2.2)
    fig, ax = plt.subplots(figsize=(size + 0.8, size))
    image = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    threshold = matrix.max() / 2 if matrix.size else 0
    for i in range(k):
        for j in range(k):
            ax.text(
                j,
                i,
                str(int(matrix[i, j])),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if matrix[i, j] > threshold else "black",
            )
    ax.set_xticks(range(k), names, rotation=45 if max(map(len, names), default=0) > 3 else 0, ha="right")
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return _finish(fig, path)


def plot_accuracy_table(
    values: np.ndarray,
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    *,
    xlabel: str = "",
    title: str | None = None,
    path: PathLike | None = None,
) -> Figure:
    """Heat map of accuracies in [0, 1] (e.g. test accuracy per depth and width) with the values written in."""
    values = np.asarray(values, dtype=np.float64)
    fig, ax = plt.subplots(figsize=(1.1 * len(col_labels) + 2.5, 0.5 * len(row_labels) + 1.6))
    image = ax.imshow(values, cmap="viridis", vmin=max(0.0, np.nanmin(values) - 0.05), vmax=1.0, aspect="auto")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            ax.text(j, i, f"{values[i, j]:.3f}", ha="center", va="center", fontsize=8, color="white")
    ax.set_xticks(range(len(col_labels)), list(col_labels))
    ax.set_yticks(range(len(row_labels)), list(row_labels))
    ax.set_xlabel(xlabel)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return _finish(fig, path)


def scalar_series(scalars: Mapping[str, Sequence[tuple[int, float]]], tag: str) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values) of one TensorBoard scalar tag as read by ``monitoring.read_scalars``."""
    events = scalars[tag]
    return np.array([s for s, _ in events]), np.array([v for _, v in events])


def plot_layer_statistics(
    scalars: Mapping[str, Sequence[tuple[int, float]]],
    outputs: Sequence[str],
    weights: Sequence[str],
    *,
    path: PathLike | None = None,
) -> Figure:
    """Per layer: the mean of its output with min-max and ±1 std bands (top), its weights' std (bottom)."""
    fig, axes = plt.subplots(2, len(outputs), figsize=(3.4 * len(outputs), 5.4), squeeze=False)
    for col, (out_tag, w_tag) in enumerate(zip(outputs, weights, strict=True)):
        ax = axes[0, col]
        steps, mean = scalar_series(scalars, f"{out_tag}/mean")
        std, lo, hi = (scalar_series(scalars, f"{out_tag}/{s}")[1] for s in ("std", "min", "max"))
        ax.fill_between(steps, lo, hi, alpha=0.15, label="min-max")
        ax.fill_between(steps, mean - std, mean + std, alpha=0.35, label="mean ± std")
        ax.plot(steps, mean, linewidth=1.2, label="mean")
        ax.set_title(out_tag, fontsize=9)
        ax.grid(alpha=0.3)
        if col == 0:
            ax.legend(fontsize=7)
        ax = axes[1, col]
        steps, wstd = scalar_series(scalars, f"{w_tag}/std")
        ax.plot(steps, wstd, color="C3", linewidth=1.2)
        ax.set_title(f"{w_tag} std", fontsize=9)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return _finish(fig, path)


def plot_layer_histograms(
    histograms: Mapping[str, Sequence[tuple[int, Mapping]]], tags: Sequence[str], *, path: PathLike | None = None
) -> Figure:
    """Each tag's histogram (as read by ``monitoring.read_histograms``) at its first and last step."""
    fig, axes = plt.subplots(1, len(tags), figsize=(3.4 * len(tags), 2.8), squeeze=False)
    for ax, tag in zip(axes[0], tags, strict=True):
        for (step, h), colour in zip((histograms[tag][0], histograms[tag][-1]), ("C0", "C1"), strict=True):
            limits = np.asarray(h["bucket_limit"], dtype=float)
            counts = np.asarray(h["bucket"], dtype=float)
            left = np.concatenate([[h["min"]], limits[:-1]])
            ax.stairs(
                counts / max(counts.sum(), 1), np.concatenate([left[:1], limits]), color=colour, label=f"step {step}"
            )
        ax.set_title(tag, fontsize=9)
        ax.set_yscale("log")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return _finish(fig, path)
