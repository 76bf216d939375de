"""Report section "the same network by hand": the DCN trained by the NumPy engine beside the PyTorch
run, the agreement of the two engines step by step, and their speed. Rendered from the finished
NumPy study (:mod:`backproplab.experiments.convnet_study`) and the DCN study it is compared with."""

from __future__ import annotations

import numpy as np

from backproplab import figures
from backproplab.experiments import convnet_study, dcn_study
from backproplab.experiments.store import Result, load_result, result_folder
from backproplab.report.context import ReportContext
from backproplab.report.html import Section, code, markup

ANCHOR = "convnet"
ENGINES = {"torch": "PyTorch", "numpy": "NumPy (by hand)"}


def run(ctx: ReportContext) -> Result:
    """Both finished studies: the DCN's (reused when the dcn section made it) and the NumPy engine's."""
    common = {"quick": ctx.quick, "seed": ctx.seed, "data_dir": ctx.data_dir, "rerun": ctx.rerun}
    dcn_study.run_dcn_study(ctx.results_dir, **common, progress=ctx.progress)
    return convnet_study.run_convnet_study(ctx.results_dir, **common, progress=ctx.progress, full=ctx.full)


def _torch_result(ctx: ReportContext) -> Result:
    settings = dcn_study.dcn_settings(quick=ctx.quick, seed=ctx.seed)
    found = load_result(result_folder(ctx.results_dir, dcn_study.STUDY, settings), settings)
    if found is None:  # run() finished it moments ago; only a concurrent deletion gets here
        raise FileNotFoundError(f"the DCN study is missing from {ctx.results_dir}; build the report again")
    return found


def render(result: Result, ctx: ReportContext) -> Section:
    from backproplab.monitoring import read_scalars

    torch_result = _torch_result(ctx)
    runs = {"torch": torch_result, "numpy": result}
    m, c = result.metrics, result.metrics["config"]
    section = Section("The same network by hand (NumPy engine)", ANCHOR)
    section.paragraph(
        markup(
            "The network of the previous section with every forward and backward step written in NumPy "
            "(im2col convolutions, max-pooling with its arg-max, inverted dropout, the optimizers of part 1), "
            f"trained with the same settings: {m['steps_done']:,} steps of {c['batch_size']} images, "
            f"{c['optimizer']} at learning rate {c['learning_rate']:g}, seed {c['seed']}. Train it with ",
            code("backproplab dcn --engine numpy"),
            ".",
        )
    )

    losses = {}
    for engine, found in runs.items():
        steps, values = figures.scalar_series(read_scalars(found.folder / "run"), "train/loss")
        losses[engine] = (steps, values)
    n = min(len(v) for _, v in losses.values())
    window = max(1, min(100, n // 20))
    smooth = {
        f"{ENGINES[e]} (mean of {window} steps)": np.convolve(v[:n], np.ones(window) / window, mode="valid")
        for e, (_, v) in losses.items()
    }
    path, loss_src = ctx.figure("convnet_loss.png")
    figures.plot_curves(
        losses["numpy"][0][window - 1 : n], smooth, xlabel="step", ylabel="cross-entropy", logy=True,
        title="Training loss, both engines", path=path,
    )  # fmt: skip
    section.figure(
        loss_src,
        "Training loss per batch of both engines, smoothed. Each engine draws its own initial weights, dropout "
        "masks and (from the same seed) batches, so the curves follow each other without coinciding.",
        width="640px",
    )
    t_curves, n_curves = torch_result.metrics["curves"], m["curves"]
    k = min(len(t_curves["step"]), len(n_curves["step"]))
    path, error_src = ctx.figure("convnet_error.png")
    figures.plot_curves(
        n_curves["epoch"][:k],
        {f"{ENGINES[e]} validation error": 100 * np.asarray(r.metrics["curves"]["validation_error"][:k])
         for e, r in runs.items()},
        xlabel="epoch", ylabel="error (%)", title="Validation error, both engines", path=path,
    )  # fmt: skip
    section.figure(error_src, "Validation error at every evaluation of both runs.", width="640px")

    section.heading("Same weights, same batches, same masks: same numbers", anchor="convnet-agreement")
    agreement = m["agreement"]
    names = list(agreement)
    arrays = result.arrays
    steps = agreement[names[0]]["steps"]
    header = ["step"]
    for name in names:
        header += [f"{name} NumPy loss", f"{name} PyTorch loss", f"{name} relative difference"]
    rows = []
    for i in range(steps):
        row: list[object] = [i]
        for name in names:
            ours, theirs = arrays[f"agreement/{name}/numpy"][i], arrays[f"agreement/{name}/torch"][i]
            row += [f"{ours:.12f}", f"{theirs:.12f}", f"{abs(ours - theirs) / abs(theirs):.1e}"]
        rows.append(row)
    worst = max(a["max_relative_difference"] for a in agreement.values())
    section.table(
        header,
        rows,
        caption=f"Both engines in float64, {steps} steps of {agreement[names[0]]['batch_size']} training images "
        "from the DCN's initial weights; the dropout mask the DCN draws at each step is handed to the NumPy "
        "network. Learning rates: " + ", ".join(f"{n} {agreement[n]['learning_rate']:g}" for n in names)
        + f". Largest relative difference {worst:.1e}.",
        anchor="tab-convnet-agreement",
    )  # fmt: skip

    section.heading("Speed", anchor="convnet-speed")
    timing = []
    for engine, found in runs.items():
        tm = found.metrics
        rate = tm.get("steps_per_second")
        ms = 1000.0 / rate if rate else float("nan")
        timing.append(
            [ENGINES[engine], f"{ms:.1f}", f"{tm['gflops_per_second']:.1f}", tm.get("threads", "?"),
             tm.get("precision", "?"), f"{tm['wall_seconds']:.0f}", f"{100 * tm['test_accuracy']:.2f}"]
        )  # fmt: skip
    torch_ms, numpy_ms = (1000.0 / runs[e].metrics["steps_per_second"] for e in ("torch", "numpy"))
    section.table(
        ["engine", "ms per step", "GFLOP/s", "CPU threads", "precision", "wall s", "test accuracy %"],
        timing,
        caption=f"Training steps of {c['batch_size']} images, from each run's metrics.json (evaluations "
        f"included in wall time only), measured while the runs ran, so other work on the machine shows. The "
        f"NumPy engine took {numpy_ms / torch_ms:.1f}× PyTorch's time per step.",
        anchor="tab-convnet-speed",
    )
    ctx.metrics["convnet"] = {
        "result": ctx.relative(result.folder),
        **{k: v for k, v in m.items() if k != "config"},
        "config": {**c, "out": ctx.relative(result.folder / "run")},
        "ms_per_step": {"numpy": numpy_ms, "torch": torch_ms},
    }
    return section
