"""Report section: networks of any depth (DeepNeuralNetwork) on 2-D and tabular data sets."""

from __future__ import annotations

from backproplab.experiments.grid import GRID_DEFAULTS, run_grid
from backproplab.report.context import ReportContext
from backproplab.report.html import Raw, Section

# (data set, points, depths, widths, activations): spirals is where depth shows; moons barely needs it.
GRIDS = [
    ("spirals", 600, (1, 2, 3, 5), (4, 16), ("tanh", "relu")),
    ("moons", 1000, (1, 2, 3, 5), (3, 10), ("tanh", "relu")),
]
QUICK_GRIDS = [("spirals", 200, (1, 2), (4,), ("tanh",))]
TABULAR = ("iris", "wine", "breast_cancer", "digits")


def deep_section(ctx: ReportContext) -> Section:
    section = Section("Deeper networks: depth, width and data sets (NumPy)", "deep")
    settings = dict(GRID_DEFAULTS)
    if ctx.quick:
        settings["num_passes"] = 20
    section.paragraph(
        "DeepNeuralNetwork stacks Layer objects, each with its own forward and backward step; the loss and its "
        "exact gradient are the three-layer network's (sum of cross-entropies plus (lambda/2) sum ||W||^2). Every "
        f"cell below is trained the same way: {settings['optimizer']} on mini-batches of {settings['batch_size']}, "
        f"learning rate {settings['epsilon']} decaying by {settings['lr_decay']} per epoch, {settings['num_passes']} "
        f"epochs, {settings['init']} initialisation, lambda 0.01. Depth counts hidden layers. Test points (triangles) "
        "are a fresh draw from the same distribution."
    )
    results = {}
    for dataset, n, depths, widths, acts in QUICK_GRIDS if ctx.quick else GRIDS:
        out = ctx.figures_dir / f"grid-{dataset}"
        result = run_grid(
            dataset, depths, widths, acts, out_dir=out, progress=ctx.progress, n_samples=n, seed=ctx.seed, **settings
        )
        results[dataset] = result
        section.heading(f"{dataset}: {n} points")
        section.figure(
            f"figures/grid-{dataset}/grid.png",
            f"{dataset}: one network per activation, width and depth; train / test accuracy in each title.",
        )
        rows = [
            [
                r["activation"],
                r["width"],
                r["depth"],
                r["n_parameters"],
                r["train_accuracy"],
                r["test_accuracy"],
                f"{r['seconds']:.1f}",
            ]
            for r in result.rows
        ]
        section.table(["activation", "width", "depth", "parameters", "train acc", "test acc", "seconds"], rows)
    section.heading("What the numbers show")
    bullets = []
    for dataset, result in results.items():
        best = result.best()
        by_cell = {(r["activation"], r["width"], r["depth"]): r["test_accuracy"] for r in result.rows}
        narrow = min(r["width"] for r in result.rows)
        deepest = max(r["depth"] for r in result.rows)
        trend = "; ".join(
            f"{act} width {narrow}: "
            + " → ".join(f"{by_cell[(act, narrow, d)]:.3f}" for d in sorted({r["depth"] for r in result.rows}))
            for act in dict.fromkeys(r["activation"] for r in result.rows)
        )
        depths = sorted({r["depth"] for r in result.rows})
        for act in dict.fromkeys(r["activation"] for r in result.rows):
            narrow_accs = [by_cell[(act, narrow, d)] for d in depths]
            if max(narrow_accs) - narrow_accs[-1] > 0.05:
                trend += (
                    f" ({act} at width {narrow} falls back at depth {deepest}: a deep, narrow stack is harder to "
                    "optimise — with ReLU, units that die stay dead and a 4-unit layer cannot spare any)"
                )
        bullets.append(
            f"{dataset}: the best cell is {best['activation']} {best['depth']} x {best['width']} with test accuracy "
            f"{best['test_accuracy']:.3f}. Test accuracy of the narrowest nets as depth grows from 1 to {deepest}: "
            f"{trend}."
        )
    bullets.append(
        "A narrow network gains most from depth: each layer can fold the plane once more, so a few narrow layers "
        "draw boundaries (like interleaved spirals) that one narrow layer cannot. Where one layer already suffices "
        "(moons), depth adds parameters and training time but little accuracy."
    )
    section.bullets(bullets)
    section.paragraph(
        Raw(
            "Reproduce with <code>backproplab mlp --grid --dataset spirals --n-samples 600 "
            "--depths 1,2,3,5 --widths 4,16 --activations tanh,relu</code>."
        )
    )
    if not ctx.quick:
        _tabular(ctx, section, settings)
    ctx.metrics["deep"] = {name: {"rows": r.rows, "best": r.best()} for name, r in results.items()}
    return section


def _tabular(ctx: ReportContext, section: Section, settings: dict) -> None:
    from backproplab.experiments.mlp_run import MLPConfig, load_data, train_config

    section.heading("Tabular data sets (bundled with scikit-learn)")
    rows, metrics = [], {}
    for name in TABULAR:
        config = MLPConfig(
            dataset=name, hidden=[32, 32], activation="relu", seed=ctx.seed, **{**settings, "num_passes": 100}
        ).validate()
        run = train_config(config, load_data(config))
        m = run.metrics
        metrics[name] = {k: m[k] for k in ("train_accuracy", "test_accuracy", "n_parameters", "seconds")}
        rows.append([name, m["n_parameters"], m["train_accuracy"], m["test_accuracy"], f"{m['seconds']:.1f}"])
    section.table(
        ["data set", "parameters", "train acc", "test acc", "seconds"],
        rows,
        caption="[32, 32] ReLU, 100 epochs, stratified 75/25 split standardised on the training rows",
    )
    ctx.metrics["tabular"] = metrics
