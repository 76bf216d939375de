"""Report section: the deep convolutional network on MNIST (assignment 2a, 2b), rendered from the
finished DCN study (:mod:`backproplab.experiments.dcn_study`) and its TensorBoard event files."""

from __future__ import annotations

import numpy as np

from backproplab import figures, hints
from backproplab.experiments.dcn_study import RUN_FOLDER, run_dcn_study
from backproplab.experiments.store import Result
from backproplab.report.context import ReportContext
from backproplab.report.html import Section, code, figure_id, link, markup

ANCHOR = "dcn"
LAYER_OUTPUTS = ("conv1/activation", "conv2/activation", "fc1/activation", "fc2/net_input")
LAYER_WEIGHTS = ("conv1/weights", "conv2/weights", "fc1/weights", "fc2/weights")


def run(ctx: ReportContext) -> Result:
    result = run_dcn_study(
        ctx.results_dir,
        quick=ctx.quick,
        seed=ctx.seed,
        data_dir=ctx.data_dir,
        rerun=ctx.rerun,
        progress=ctx.progress,
        implementation=ctx.implementation,
    )
    if ctx.implementation is not None:
        ctx.tensorboard_logdir = result.folder  # TensorBoard's views show the learner's run, not the others
    return result


def render(result: Result, ctx: ReportContext) -> Section:
    from backproplab.monitoring import read_histograms, read_scalars

    m = result.metrics
    c, sizes, curves = m["config"], m["data"], m["curves"]
    run_dir = result.folder / RUN_FOLDER
    scalars, histograms = read_scalars(run_dir), read_histograms(run_dir)
    act = c["activation"]
    section = Section("A deep convolutional network on MNIST (PyTorch, TensorBoard)", ANCHOR)
    implementation = result.config.get("implementation")
    if implementation is not None:
        section.paragraph(
            f"This section ran the learner's implementation: {implementation['folder']}, code sha256 "
            f"{implementation['sha256'][:12]}, after its checks 2a, 2a-step and 2b passed. Its weight_variable, "
            "bias_variable, conv2d, max_pool_2x2 and DCN give the network, its forward_backward every training "
            "step, and the tensors its forward captures every monitored statistic and histogram below; "
            "backproplab's run loop draws the batches, takes the optimizer steps, evaluates and logs."
        )
    epochs = m["steps_done"] * c["batch_size"] / sizes["train"]
    section.paragraph(
        f"The course's network, trained for {m['steps_done']:,} steps of {c['batch_size']} images ({epochs:.2f} "
        f"epochs of {sizes['train']:,} training images); validation {sizes['validation']:,} images held out of the "
        f"training file, test {sizes['test']:,} t10k images. Every {c['monitor_every']} steps the run logs "
        "min/max/mean/std and a histogram of every layer's weights, biases, net inputs, activations and pooled "
        f"outputs on the current batch; every {c['eval_every']} steps the validation and test error over those sets."
    )
    section.table(
        ["layer", "operation", "output"],
        [
            ["input", "28 × 28 grey image", "28 × 28 × 1"],
            ["conv1", f"5 × 5 convolution 1 → 32, stride 1, SAME; {act}", "28 × 28 × 32"],
            ["pool1", "max 2 × 2", "14 × 14 × 32"],
            ["conv2", f"5 × 5 convolution 32 → 64, SAME; {act}", "14 × 14 × 64"],
            ["pool2", "max 2 × 2", "7 × 7 × 64"],
            ["fc1", f"3136 → 1024; {act}; dropout {c['dropout']:g}", "1024"],
            ["fc2", "1024 → 10; softmax cross-entropy", "10"],
        ],
        caption=f"{m['parameter_count']:,} parameters; init {c['init']}; {c['optimizer']}, learning rate "
        f"{c['learning_rate']:g}; batch {c['batch_size']}; seed {c['seed']}; precision {c['precision']}",
        anchor="tab-dcn-architecture",
    )

    steps, loss = figures.scalar_series(scalars, "train/loss")
    window = max(1, min(100, len(loss) // 20))
    smooth = np.convolve(loss, np.ones(window) / window, mode="valid")
    path, loss_src = ctx.figure("dcn_loss.png")
    figures.plot_curves(
        steps[window - 1 :], {f"training loss (mean of {window} steps)": smooth}, xlabel="step",
        ylabel="cross-entropy", logy=True, title="DCN training loss", path=path,
    )  # fmt: skip
    section.figure(loss_src, "Training loss on each batch, smoothed.", width="640px")
    path, error_src = ctx.figure("dcn_error.png")
    figures.plot_curves(
        curves["epoch"],
        {"validation error": 100 * np.asarray(curves["validation_error"]),
         "test error": 100 * np.asarray(curves["test_error"])},
        xlabel="epoch", ylabel="error (%)", title="DCN error per evaluation", path=path,
    )  # fmt: skip
    section.figure(error_src, "Validation and test error at every evaluation.", width="640px")
    section.table(
        ["step", "epoch", "training loss", "validation error %", "test error %"],
        [
            [s, f"{e:.2f}", tl, f"{100 * ve:.2f}", f"{100 * te:.2f}"]
            for s, e, tl, ve, te in zip(
                curves["step"], curves["epoch"], curves["train_loss"], curves["validation_error"],
                curves["test_error"], strict=True,
            )
        ],
        anchor="tab-dcn-evaluations",
    )  # fmt: skip

    path, stats_src = ctx.figure("dcn_layer_statistics.png")
    figures.plot_layer_statistics(scalars, LAYER_OUTPUTS, LAYER_WEIGHTS, path=path)
    section.figure(
        stats_src,
        "Per layer, from the TensorBoard scalars: the mean of each layer's output with its min-max range and "
        "±1 std band (top), and the std of its weights (bottom).",
    )
    path, hist_src = ctx.figure("dcn_histograms.png")
    figures.plot_layer_histograms(histograms, LAYER_OUTPUTS, path=path)
    section.figure(hist_src, "Histograms of each layer's output on a training batch, first and last monitored step.")

    first = {tag: figures.scalar_series(scalars, f"{tag}/std")[1][0] for tag in LAYER_WEIGHTS}
    last = {tag: figures.scalar_series(scalars, f"{tag}/std")[1][-1] for tag in LAYER_WEIGHTS}
    low = {tag: _lowest_bucket(histograms[tag][-1][1]) for tag in LAYER_OUTPUTS[:3]}
    gap = max(abs(v - t) for v, t in zip(curves["validation_error"], curves["test_error"], strict=True))
    section.heading("What the numbers show")
    section.bullets(
        [
            _summary(m),
            f"Validation and test error differ by at most {100 * gap:.2f} points at any evaluation: the validation "
            "set (never the test set) is the one to choose settings on, and it is a fair stand-in for the test set.",
            "Weight std from the first to the last monitored step: "
            + ", ".join(f"{t.split('/')[0]} {first[t]:.4f} → {last[t]:.4f}" for t in LAYER_WEIGHTS)
            + f". {c['optimizer']} at learning rate {c['learning_rate']:g} moves the weights only a little from "
            f"their {c['init']} initialisation.",
            f"Share of each {act} layer's outputs in the lowest histogram bucket on the last monitored batch "
            "(units that are off, or nearly so): "
            + ", ".join(
                f"{t.split('/')[0]} {100 * share:.0f}% in [min, {edge:.2f}]" for t, (share, edge) in low.items()
            )
            + ".",
        ]
    )
    logdir = ctx.relative(run_dir)
    section.paragraph(
        markup(
            "All curves are in TensorBoard: ",
            code(hints.tensorboard(logdir)),
            " (the path is relative to this page's folder). Train the same run with ",
            code("backproplab dcn"),
            ".",
        )
    )
    ctx.answer(
        "2a",
        markup(
            f"Test accuracy {100 * m['test_accuracy']:.2f}% after {m['steps_done']:,} steps of {c['batch_size']} "
            f"({c['optimizer']}, learning rate {c['learning_rate']:g}). ",
            link(figure_id(error_src), "error curves"),
            ", ",
            link("tab-dcn-evaluations", "table"),
        ),
    )
    ctx.answer(
        "2b",
        markup(
            f"Every {c['monitor_every']} steps: min/max/mean/std and histograms of every layer's weights, biases, "
            "net inputs, activations and pooled outputs; validation and test error every evaluation. ",
            link(figure_id(stats_src), "statistics"),
            ", ",
            link(figure_id(hist_src), "histograms"),
            ", ",
            link(figure_id(loss_src), "loss"),
        ),
    )
    # the run folder as seen from the page, never an absolute path
    ctx.metrics["dcn"] = {"result": ctx.relative(result.folder), **m, "config": {**c, "out": logdir}}
    if implementation is not None:
        ctx.metrics["dcn"]["implementation"] = implementation
    return section


def _summary(m: dict) -> str:
    return (
        f"Final test accuracy {100 * m['test_accuracy']:.2f}% (test error {100 * m['test_error']:.2f}%), "
        f"validation accuracy {100 * m['validation_accuracy']:.2f}%, after {m['steps_done']:,} steps in "
        f"{m['wall_seconds']:.0f} s ({m['steps_per_second']:.1f} steps/s, {m['gflops_per_second']:.0f} GFLOP/s "
        f"on {m['threads']} CPU thread(s)). The course's reference is about 98.5% after 5,500 steps and about "
        "99.2% after 20,000."
    )


def _lowest_bucket(histogram: dict) -> tuple[float, float]:
    """(share of values, upper edge) of the lowest non-empty-width bucket: for ReLU outputs (>= 0) the units
    that are off, or nearly so."""
    limits, counts = np.asarray(histogram["bucket_limit"]), np.asarray(histogram["bucket"])
    if counts.sum() == 0:
        return float("nan"), float("nan")
    first = min(int(np.searchsorted(limits, histogram["min"], side="right")), len(counts) - 1)
    return float(counts[first] / counts.sum()), float(limits[first])
