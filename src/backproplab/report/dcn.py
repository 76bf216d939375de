"""Report section: the deep convolutional network on MNIST, read back from its TensorBoard logs."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from backproplab import figures
from backproplab.report.context import ReportContext
from backproplab.report.html import Raw, Section

LAYER_OUTPUTS = ("conv1/activation", "conv2/activation", "fc1/activation", "fc2/net_input")
LAYER_WEIGHTS = ("conv1/weights", "conv2/weights", "fc1/weights", "fc2/weights")
ARCHITECTURE = """
input 28x28x1
conv1   5x5, 1 -> 32, stride 1, SAME      28x28x32   net_input = W * x + b,  activation = ReLU(net_input)
pool1   max 2x2                           14x14x32   pooled
conv2   5x5, 32 -> 64, SAME               14x14x64
pool2   max 2x2                            7x7x64
fc1     3136 -> 1024, ReLU, dropout 0.5   1024
fc2     1024 -> 10, softmax cross-entropy 10          3,274,634 parameters
init: weights truncated normal (std 0.1, cut at 2 std), biases 0.1; Adam, learning rate 1e-4, batch 50
"""


def dcn_section(ctx: ReportContext) -> Section:
    from backproplab.datasets import mnist
    from backproplab.dcn import TrainConfig, train
    from backproplab.monitoring import read_histograms, read_scalars

    section = Section("A deep convolutional network on MNIST (PyTorch, TensorBoard)", "dcn")
    data = mnist.load(data_dir=ctx.data_dir, seed=ctx.seed, progress=ctx.progress)
    run_dir = ctx.out_dir / "runs" / "dcn" / "default"
    if ctx.quick:  # a preview: subsets of every split, a few steps
        data = mnist.Datasets(
            *(
                mnist.DataSet(part.images[:n], part.labels[:n], seed=ctx.seed)
                for part, n in ((data.train, 5000), (data.validation, 1000), (data.test, 2000))
            )
        )
        config = TrainConfig(steps=40, eval_every=20, monitor_every=10, seed=ctx.seed, out=str(run_dir), overwrite=True)
    else:
        config = TrainConfig(seed=ctx.seed, out=str(run_dir), overwrite=True)
    metrics = train(config, data=data, progress=ctx.progress)
    scalars = read_scalars(run_dir)
    histograms = read_histograms(run_dir)

    section.paragraph(
        f"The course's network, trained for {config.steps:,} steps of {config.batch_size} images "
        f"({config.steps * config.batch_size / data.train.num_examples:.1f} epochs of the 55,000 training images); "
        "validation is the first 5,000 training images, test the 10,000 t10k images. Every "
        f"{config.monitor_every} steps the run logs min/max/mean/std and a histogram of every layer's weights, "
        "biases, net inputs, activations and pooled outputs on the current batch; every epoch the validation and "
        "test error over the whole sets."
    )
    section.maths(ARCHITECTURE)

    steps, loss = _series(scalars, "train/loss")
    window = max(1, min(100, len(loss) // 20))
    smooth = np.convolve(loss, np.ones(window) / window, mode="valid")
    path, src = ctx.figure("dcn_loss.png")
    figures.plot_curves(
        steps[window - 1 :],
        {f"training loss (mean of {window} steps)": smooth},
        xlabel="step",
        ylabel="cross-entropy",
        logy=True,
        title="DCN training loss",
        path=path,
    )
    section.figure(src, "Training loss on each batch, smoothed.", width="640px")

    curves = metrics["curves"]
    path, src = ctx.figure("dcn_error.png")
    figures.plot_curves(
        curves["epoch"],
        {
            "validation error": 100 * np.asarray(curves["validation_error"]),
            "test error": 100 * np.asarray(curves["test_error"]),
        },
        xlabel="epoch",
        ylabel="error (%)",
        title="DCN error per evaluation",
        path=path,
    )
    section.figure(src, "Validation and test error at every evaluation.", width="640px")
    section.table(
        ["step", "epoch", "training loss", "validation error %", "test error %"],
        [
            [s, f"{e:.2f}", tl, f"{100 * ve:.2f}", f"{100 * te:.2f}"]
            for s, e, tl, ve, te in zip(
                curves["step"],
                curves["epoch"],
                curves["train_loss"],
                curves["validation_error"],
                curves["test_error"],
                strict=True,
            )
        ],
    )

    path, src = ctx.figure("dcn_layer_statistics.png")
    _plot_statistics(scalars, path)
    section.figure(
        src,
        "Per layer, from the TensorBoard scalars: the mean of each layer's output with its "
        "min-max range and ±1 std band (top), and the std of its weights (bottom).",
    )
    path, src = ctx.figure("dcn_histograms.png")
    _plot_histograms(histograms, path)
    section.figure(src, "Histograms of each layer's output on a training batch, first and last monitored step.")

    first = {tag: _series(scalars, f"{tag}/std")[1][0] for tag in LAYER_WEIGHTS}
    last = {tag: _series(scalars, f"{tag}/std")[1][-1] for tag in LAYER_WEIGHTS}
    low = {tag: _lowest_bucket(histograms[tag][-1][1]) for tag in LAYER_OUTPUTS[:3]}
    gap = max(abs(v - t) for v, t in zip(curves["validation_error"], curves["test_error"], strict=True))
    section.heading("What the numbers show")
    section.bullets(
        [
            _summary({**metrics, **metrics["final"]}),
            f"Validation and test error differ by at most {100 * gap:.2f} points at any evaluation: the validation "
            "set (never the test set) is the one to choose settings on, and it is a fair stand-in for the test set.",
            "Weight std from the first to the last monitored step: "
            + ", ".join(f"{t.split('/')[0]} {first[t]:.4f} → {last[t]:.4f}" for t in LAYER_WEIGHTS)
            + ". Adam's small learning rate (1e-4) moves the weights only a little from their 0.1 initialisation.",
            "Share of each ReLU layer's outputs in the lowest histogram bucket on the last monitored batch "
            "(units that are off, or nearly so): "
            + ", ".join(f"{t.split('/')[0]} {100 * share:.0f}% in [0, {edge:.2f}]" for t, (share, edge) in low.items())
            + ". ReLU layers are sparse: on any one image many units are silent.",
        ]
    )
    section.paragraph(
        Raw(
            f"All curves are in TensorBoard: <code>backproplab tensorboard --logdir "
            f"{ctx.out_dir / 'runs'}</code>. Train the same run with <code>backproplab dcn</code>."
        )
    )
    ctx.metrics["dcn"] = (
        {k: v for k, v in metrics.items() if k not in ("curves", "final")} | metrics["final"] | {"curves": curves}
    )
    return section


def _summary(m: dict) -> str:
    return (
        f"Final test accuracy {100 * m['test_accuracy']:.2f}% (test error {100 * m['test_error']:.2f}%), "
        f"validation accuracy {100 * m['validation_accuracy']:.2f}%, after {m['steps_done']:,} steps in "
        f"{m['wall_seconds']:.0f} s ({m['steps_per_second']:.1f} steps/s, {m['gflops_per_second']:.0f} GFLOP/s "
        f"on {m['threads']} CPU thread(s)). The course's reference is about 98.5% after 5,500 steps and about "
        "99.2% after 20,000."
    )


def _series(scalars: dict, tag: str) -> tuple[np.ndarray, np.ndarray]:
    events = scalars[tag]
    return np.array([s for s, _ in events]), np.array([v for _, v in events])


def _lowest_bucket(histogram: dict) -> tuple[float, float]:
    """(share of values, upper edge) of the lowest non-empty-width bucket: for ReLU outputs (>= 0) the units
    that are off, or nearly so."""
    limits, counts = np.asarray(histogram["bucket_limit"]), np.asarray(histogram["bucket"])
    if counts.sum() == 0:
        return float("nan"), float("nan")
    first = min(int(np.searchsorted(limits, histogram["min"], side="right")), len(counts) - 1)
    return float(counts[first] / counts.sum()), float(limits[first])


def _plot_statistics(scalars: dict, path: Path) -> None:
    fig, axes = plt.subplots(2, len(LAYER_OUTPUTS), figsize=(3.4 * len(LAYER_OUTPUTS), 5.4), squeeze=False)
    for col, (out_tag, w_tag) in enumerate(zip(LAYER_OUTPUTS, LAYER_WEIGHTS, strict=True)):
        ax = axes[0, col]
        steps, mean = _series(scalars, f"{out_tag}/mean")
        std, lo, hi = (_series(scalars, f"{out_tag}/{s}")[1] for s in ("std", "min", "max"))
        ax.fill_between(steps, lo, hi, alpha=0.15, label="min-max")
        ax.fill_between(steps, mean - std, mean + std, alpha=0.35, label="mean ± std")
        ax.plot(steps, mean, linewidth=1.2, label="mean")
        ax.set_title(out_tag, fontsize=9)
        ax.grid(alpha=0.3)
        if col == 0:
            ax.legend(fontsize=7)
        ax = axes[1, col]
        steps, wstd = _series(scalars, f"{w_tag}/std")
        ax.plot(steps, wstd, color="C3", linewidth=1.2)
        ax.set_title(f"{w_tag} std", fontsize=9)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    figures.save_figure(fig, path)


def _plot_histograms(histograms: dict, path: Path) -> None:
    fig, axes = plt.subplots(1, len(LAYER_OUTPUTS), figsize=(3.4 * len(LAYER_OUTPUTS), 2.8), squeeze=False)
    for ax, tag in zip(axes[0], LAYER_OUTPUTS, strict=True):
        for (step, h), style in zip((histograms[tag][0], histograms[tag][-1]), ("C0", "C1"), strict=True):
            limits = np.asarray(h["bucket_limit"], dtype=float)
            counts = np.asarray(h["bucket"], dtype=float)
            left = np.concatenate([[h["min"]], limits[:-1]])
            ax.stairs(
                counts / max(counts.sum(), 1), np.concatenate([left[:1], limits]), color=style, label=f"step {step}"
            )
        ax.set_title(tag, fontsize=9)
        ax.set_yscale("log")
        ax.legend(fontsize=7)
    fig.tight_layout()
    figures.save_figure(fig, path)
