"""Report section: networks of any depth (assignment 1f), rendered from the finished deep study
(:mod:`backproplab.experiments.deep_study`): depth x width x activation grids and tabular data sets."""

from __future__ import annotations

import numpy as np

from backproplab import figures
from backproplab.experiments.deep_study import run_deep_study
from backproplab.experiments.store import Result
from backproplab.report.context import ReportContext
from backproplab.report.html import Section, code, figure_id, link, markup

ANCHOR = "deep"


def run(ctx: ReportContext) -> Result:
    return run_deep_study(
        ctx.results_dir,
        quick=ctx.quick,
        seed=ctx.seed,
        rerun=ctx.rerun,
        progress=ctx.progress,
        implementation=ctx.implementation,
    )


def render(result: Result, ctx: ReportContext) -> Section:
    config, m, arr = result.config, result.metrics, result.arrays
    t = m["training"]
    batch = "full batch" if t["batch_size"] is None else f"mini-batches of {t['batch_size']}"
    section = Section("Deeper networks: depth, width and data sets (NumPy)", ANCHOR)
    if "implementation" in config:
        section.paragraph(
            f"This section ran the learner's implementation: {config['implementation']['folder']}, code sha256 "
            f"{config['implementation']['sha256'][:12]}, after its check 1f passed. Its Layer and "
            "DeepNeuralNetwork give every number below; backproplab's trainer runs the passes."
        )
    section.paragraph(
        "DeepNeuralNetwork stacks Layer objects, each with its own forward and backward step; the loss is the "
        "three-layer network's, with L2 on every weight matrix:"
    )
    section.derivation(
        [
            (r"L = -\sum_{n} \log p_{n y_n} + \frac{\lambda}{2} \sum_{l=1}^{L} \lVert W_l \rVert^2",
             "cross-entropy summed over the examples, plus L2 over all L weight matrices"),
            (r"\delta_L = p - \operatorname{onehot}(y), \quad "
             r"\delta_{l} = \left(\delta_{l+1} W_{l+1}^{\top}\right) \odot f'(z_{l})",
             "the error signal, passed back layer by layer"),
            (r"\frac{\partial L}{\partial W_l} = a_{l-1}^{\top} \delta_l + \lambda W_l, \quad "
             r"\frac{\partial L}{\partial b_l} = \sum_n \delta_{l,n}",
             "a₀ = X; the L2 term adds λW to each weight gradient and nothing to the biases"),
        ],
        anchor="deep-l2",
    )  # fmt: skip
    section.paragraph(
        f"Every cell below is trained the same way: {t['optimizer']} on {batch}, learning rate {t['epsilon']:g} "
        f"decaying by {t['lr_decay']:g} per epoch, {t['num_passes']:,} epochs, {t['init']} initialisation, "
        f"λ = {t['reg_lambda']:g}, seed {t['seed']}. Depth counts hidden layers. Test points (triangles) are a "
        "fresh draw from the same distribution."
    )
    bullets, grid_links = [], []
    best_overall = None
    for grid in config["grids"]:
        name = grid["dataset"]
        rows = m["grids"][name]["rows"]
        depths, widths, acts = grid["depths"], grid["widths"], grid["activations"]
        section.heading(f"{name}: {grid['n_samples']} points", anchor=f"deep-{name}")
        panels = [
            (
                f"{r['activation']}, {r['depth']} x {r['width']}\n"
                f"train {r['train_accuracy']:.3f} / test {r['test_accuracy']:.3f}",
                arr[f"{name}/{r['activation']}/{r['width']}/{r['depth']}/regions"],
            )
            for r in rows
        ]
        path, src = ctx.figure(f"grid-{name}/grid.png")
        figures.plot_regions_grid(
            panels, arr[f"{name}/xs"], arr[f"{name}/ys"], arr[f"{name}/X_train"], arr[f"{name}/y_train"],
            X_test=arr[f"{name}/X_test"], y_test=arr[f"{name}/y_test"], ncols=len(depths),
            suptitle=f"{name}: depth (hidden layers) x width", path=path,
        )  # fmt: skip
        section.figure(
            src, f"{name}: one network per activation, width and depth; train / test accuracy in each title."
        )
        grid_links.append(link(figure_id(src), name))
        table = np.array(
            [[r["test_accuracy"] for r in rows[i : i + len(depths)]] for i in range(0, len(rows), len(depths))]
        )
        path, heat_src = ctx.figure(f"grid-{name}/grid_accuracy.png")
        figures.plot_accuracy_table(
            table, [f"{a}, width {w}" for a in acts for w in widths], [str(d) for d in depths],
            xlabel="hidden layers (depth)", title=f"{name}: test accuracy", path=path,
        )  # fmt: skip
        section.figure(heat_src, f"{name}: test accuracy per cell.", width="560px")
        section.table(
            ["activation", "width", "depth", "parameters", "train acc", "test acc", "seconds"],
            [
                [r["activation"], r["width"], r["depth"], r["n_parameters"], r["train_accuracy"], r["test_accuracy"],
                 f"{r['seconds']:.1f}"]
                for r in rows
            ],
            anchor=f"tab-deep-{name}",
        )  # fmt: skip
        best = max(rows, key=lambda r: (r["test_accuracy"], -r["depth"], -r["width"]))
        if best_overall is None:
            best_overall = (name, best)
        by_cell = {(r["activation"], r["width"], r["depth"]): r["test_accuracy"] for r in rows}
        narrow = min(widths)
        trend = "; ".join(
            f"{a} width {narrow}: " + " → ".join(f"{by_cell[(a, narrow, d)]:.3f}" for d in depths) for a in acts
        )
        bullets.append(
            f"{name}: the best cell is {best['activation']} {best['depth']} x {best['width']} with test accuracy "
            f"{best['test_accuracy']:.3f}. Test accuracy of the narrowest nets as depth grows from {min(depths)} to "
            f"{max(depths)}: {trend}."
        )
    if len(config["grids"]) > 1 or any(len(g["depths"]) > 1 for g in config["grids"]):
        bullets.append(
            "The design choice: a narrow network gains most from depth, since each layer can fold the plane once "
            "more; where one layer already suffices (moons), depth adds parameters and time but little accuracy."
            + (
                f" {t['optimizer']} on {batch} is used instead of the handout's full-batch SGD, which leaves most "
                "deep ReLU stacks dead at chance (try it: add --optimizer sgd to the command below)."
                if t["optimizer"] != "sgd"
                else ""
            )
        )
    tabular_link = None
    if config["tabular"]:
        tab = config["tabular"]
        section.heading("Tabular data sets (bundled with scikit-learn)", anchor="deep-tabular")
        section.table(
            ["data set", "features", "classes", "train / test rows", "parameters", "train acc", "test acc", "seconds"],
            [
                [name, r["n_features"], r["n_classes"], f"{r['n_train']} / {r['n_test']}", r["n_parameters"],
                 r["train_accuracy"], r["test_accuracy"], f"{r['seconds']:.1f}"]
                for name, r in m["tabular"].items()
            ],
            caption=f"{tab['hidden']} {tab['activation']}, {tab['num_passes']} epochs, stratified split "
            "standardised on the training rows",
            anchor="tab-deep-tabular",
        )  # fmt: skip
        tabular_link = link("tab-deep-tabular", "other data sets")
        bullets.append(
            "On tabular data: "
            + ", ".join(f"{name} test accuracy {r['test_accuracy']:.3f}" for name, r in m["tabular"].items())
            + "."
        )
    section.heading("What the numbers show")
    section.bullets(bullets)
    first = config["grids"][0]
    section.paragraph(
        markup(
            "Reproduce with ",
            code(
                f"backproplab mlp --grid --dataset {first['dataset']} --n-samples {first['n_samples']} "
                f"--depths {','.join(map(str, first['depths']))} --widths {','.join(map(str, first['widths']))} "
                f"--activations {','.join(first['activations'])}"
            ),
            ".",
        )
    )
    if best_overall is not None:
        name, best = best_overall
        parts = [
            f"Best on {name}: {best['activation']} {best['depth']} x {best['width']}, test accuracy "
            f"{best['test_accuracy']:.3f}; {t['optimizer']}, {t['init']} init, λ = {t['reg_lambda']:g}. ",
            *_join(grid_links),
        ]
        if tabular_link is not None:
            parts += [", ", tabular_link]
        else:
            parts.append(" (tabular data sets: full build only)")
        ctx.answer("1f", markup(*parts))
    ctx.metrics["deep"] = {"result": ctx.relative(result.folder), **m}
    return section


def _join(items: list) -> list:
    out: list = []
    for i, item in enumerate(items):
        out += [", "] * (i > 0) + [item]
    return out
