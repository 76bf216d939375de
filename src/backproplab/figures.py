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
    n_classes = int(max(y.max(), zz.max(), -1 if y_test is None else y_test.max())) + 1
    levels = np.arange(n_classes + 1) - 0.5
    ax.contourf(xx, yy, zz, levels=levels, cmap=CMAP, alpha=0.75, vmin=0, vmax=max(n_classes - 1, 1))
    ax.scatter(
        X[:, 0],
        X[:, 1],
        c=y,
        cmap=CMAP,
        vmin=0,
        vmax=max(n_classes - 1, 1),
        s=14,
        edgecolors="k",
        linewidths=0.4,
        label="train",
    )
    if X_test is not None and y_test is not None:
        ax.scatter(
            X_test[:, 0],
            X_test[:, 1],
            c=y_test,
            cmap=CMAP,
            vmin=0,
            vmax=max(n_classes - 1, 1),
            s=18,
            marker="^",
            edgecolors="k",
            linewidths=0.4,
            label="test",
        )
        ax.legend(loc="lower right", fontsize=7, framealpha=0.8)
    ax.set_xlim(xx.min(), xx.max())
    ax.set_ylim(yy.min(), yy.max())
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)


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
    ncols = max(1, min(ncols, len(panels)))
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.9 * nrows), squeeze=False)
    for ax, (title, pred) in zip(axes.ravel(), panels, strict=False):
        draw_decision_boundary(ax, pred, X, y, X_test=X_test, y_test=y_test, title=title)
    for ax in axes.ravel()[len(panels) :]:
        ax.axis("off")
    if suptitle:
        fig.suptitle(suptitle, fontsize=11)
    fig.tight_layout()
    return _finish(fig, path)
