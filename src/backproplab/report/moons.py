"""Report section: the three-layer network on Make-Moons (assignment 1a-1e), rendered from the finished
moons study (:mod:`backproplab.experiments.moons_study`): derivation, gradient check, activations, width."""

from __future__ import annotations

from backproplab import figures
from backproplab.experiments.moons_study import run_moons_study
from backproplab.experiments.store import Result
from backproplab.hardware import NUMPY_DISABLE_VARIABLE
from backproplab.report.claims import highest_phrase, leaders_phrase
from backproplab.report.context import ReportContext
from backproplab.report.html import Section, code, figure_id, link, markup, tex

ANCHOR = "moons"

# Each activation's derivative, derived step by step: (formula, why).
ACTIVATION_DERIVATIONS: dict[str, list[tuple[str, str]]] = {
    "tanh": [
        (r"\tanh z = \frac{e^{z} - e^{-z}}{e^{z} + e^{-z}}", "definition"),
        (
            r"\frac{d}{dz}\tanh z = \frac{(e^{z} + e^{-z})^{2} - (e^{z} - e^{-z})^{2}}{(e^{z} + e^{-z})^{2}}",
            "quotient rule: the numerator's derivative is the denominator and vice versa",
        ),
        (r"= 1 - \frac{(e^{z} - e^{-z})^{2}}{(e^{z} + e^{-z})^{2}} = 1 - \tanh^{2} z", "split the fraction"),
    ],
    "sigmoid": [
        (r"\sigma(z) = \frac{1}{1 + e^{-z}} = (1 + e^{-z})^{-1}", "definition"),
        (r"\sigma'(z) = -(1 + e^{-z})^{-2} \cdot (-e^{-z}) = \frac{e^{-z}}{(1 + e^{-z})^{2}}", "chain rule"),
        (
            r"= \frac{1}{1 + e^{-z}} \cdot \frac{e^{-z}}{1 + e^{-z}} = \sigma(z)\,\bigl(1 - \sigma(z)\bigr)",
            "since e^(-z) / (1 + e^(-z)) = 1 - σ(z); its largest value is σ'(0) = 1/4",
        ),
    ],
    "relu": [
        (r"\operatorname{ReLU}(z) = \max(0, z)", "definition"),
        (r"\operatorname{ReLU}'(z) = 0 \text{ for } z < 0, \quad 1 \text{ for } z > 0", "slope of each piece"),
        (
            r"\operatorname{ReLU}'(z) = \mathbb{1}[z > 0]",
            "at the kink z = 0 we take 0 (a subgradient), as the code does",
        ),
    ],
}


def run(ctx: ReportContext) -> Result:
    return run_moons_study(
        ctx.results_dir,
        quick=ctx.quick,
        seed=ctx.seed,
        rerun=ctx.rerun,
        progress=ctx.progress,
        implementation=ctx.implementation,
    )


def render(result: Result, ctx: ReportContext) -> Section:
    config, m, arr = result.config, result.metrics, result.arrays
    X, y, xs, ys = arr["X"], arr["y"], arr["xs"], arr["ys"]
    passes, eps, lam = config["passes"], config["epsilon"], config["reg_lambda"]
    section = Section("The three-layer network on Make-Moons (NumPy, backprop by hand)", ANCHOR)
    if "implementation" in config:
        section.paragraph(
            f"This section ran the learner's implementation: {config['implementation']['folder']}, code sha256 "
            f"{config['implementation']['sha256'][:12]}, after its checks 1b-1e passed. Its feedforward, "
            "calculate_loss and backprop give every number below; backproplab's trainer runs the passes."
        )
    section.paragraph(
        f"Make-Moons: {len(y)} points, noise {config['noise']:.2f}, two classes that no straight line separates. "
        "A network with one hidden layer is trained with the backpropagation below, written by hand in NumPy "
        f"(backproplab.scratch.NeuralNetwork), by {passes:,} full-batch gradient-descent passes with "
        f"step size ε = {eps:g} and L2 weight λ = {lam:g}."
    )
    data_src = _draw(ctx, "moons_data.png", figures.plot_dataset, X, y,
                     title=f"Make-Moons, {len(y)} points, noise {config['noise']:.2f}")  # fmt: skip
    section.figure(data_src, "The data set.", width="420px")
    logreg_acc = m["logistic_regression_accuracy"]
    logreg_src = _regions(ctx, "moons_logistic_regression.png", [(f"logistic regression (train acc {logreg_acc:.3f})",
                          arr["logreg/regions"])], xs, ys, X, y)  # fmt: skip
    section.figure(logreg_src, "Baseline: logistic regression can only draw a straight line.", width="420px")

    section.heading("Activation functions and their derivatives", anchor="moons-derivatives")
    for name, steps in ACTIVATION_DERIVATIONS.items():
        section.paragraph(markup(f"{name}: "))
        section.derivation(steps, anchor=f"derivative-{name}")

    section.heading("Forward pass, loss and backward pass", anchor="moons-backprop")
    section.paragraph("Rows are examples: X is (N, 2), labels yₙ ∈ {0, 1}; W1 is (2, H), b1 (H,), W2 (H, 2), b2 (2,).")
    section.derivation(
        [
            (r"z_1 = X W_1 + b_1, \quad a_1 = f(z_1)", "hidden layer; f is tanh, sigmoid, ReLU..."),
            (r"z_2 = a_1 W_2 + b_2, \quad p_{nk} = \frac{e^{z_{2,nk}}}{\sum_j e^{z_{2,nj}}}", "softmax output"),
            (
                r"L = -\sum_{n=1}^{N} \log p_{n y_n} "
                r"+ \frac{\lambda}{2}\left(\lVert W_1 \rVert^2 + \lVert W_2 \rVert^2\right)",
                "the loss is a SUM over the N examples, plus L2 on the weights",
            ),
        ],
        anchor="moons-loss",
    )
    section.paragraph(
        markup("Why ", tex(r"\delta_2 = p - \operatorname{onehot}(y)"), ": for one example with label y,")
    )
    section.derivation(
        [
            (r"-\log p_y = -z_y + \log \sum_j e^{z_j}", "log of the softmax"),
            (r"\frac{\partial(-\log p_y)}{\partial z_k} = -[k = y] + \frac{e^{z_k}}{\sum_j e^{z_j}} = p_k - [k = y]",
             "differentiate both terms"),
            (r"\delta_2 = \frac{\partial L}{\partial z_2} = p - \operatorname{onehot}(y)", "row by row, (N, 2)"),
        ],
        anchor="delta2",
    )  # fmt: skip
    section.paragraph("The four gradients, by the chain rule through z2 = a1 W2 + b2 and z1 = X W1 + b1:")
    section.derivation(
        [
            (r"\frac{\partial L}{\partial W_2} = a_1^{\top} \delta_2 + \lambda W_2", "(H, 2)"),
            (r"\frac{\partial L}{\partial b_2} = \sum_{n} \delta_{2,n}", "(2,): sum of the rows"),
            (r"\delta_1 = \frac{\partial L}{\partial z_1} = \left(\delta_2 W_2^{\top}\right) \odot f'(z_1)",
             "(N, H): back through W2, then element-wise through f"),
            (r"\frac{\partial L}{\partial W_1} = X^{\top} \delta_1 + \lambda W_1", "(2, H)"),
            (r"\frac{\partial L}{\partial b_1} = \sum_{n} \delta_{1,n}", "(H,)"),
            (rf"W \leftarrow W - \varepsilon \frac{{\partial L}}{{\partial W}}, \quad \varepsilon = {eps:g}",
             f"{passes:,} full-batch passes, λ = {lam:g}"),
        ],
        anchor="moons-gradients",
    )  # fmt: skip

    section.heading("Gradient check", anchor="moons-gradcheck")
    errors = m["gradient_check_max_relative_error"]
    gc = config["gradient_check"]
    section.table(
        ["activation", "max relative error vs finite differences"],
        [[a, f"{e:.1e}"] for a, e in errors.items()],
        caption=f"backprop against central differences of calculate_loss (float64, h = {gc['h']:g}, "
        f"λ = {gc['reg_lambda']:g}, {gc['examples']} random points, {gc['hidden']} hidden units)",
        anchor="tab-gradient-check",
    )

    section.heading("Activation functions", anchor="moons-activations")
    runs, width = m["act"], config["unit_width"]
    accs = {a: r["train_accuracy"] for a, r in runs.items()}
    panels = [(f"{a}: train acc {accs[a]:.3f}", arr[f"act/{a}/regions"]) for a in runs]
    act_src = _regions(ctx, "moons_activations.png", panels, xs, ys, X, y, ncols=3,
                       suptitle=f"{width} hidden units, by activation")  # fmt: skip
    section.figure(act_src, f"Decision boundaries with {width} hidden units for each activation.")
    loss_src = _draw(ctx, "moons_activation_loss.png", figures.plot_curves, arr["pass"],
                     {a: arr[f"act/{a}/loss_per_example"] for a in runs}, ylabel="loss per example", logy=True,
                     title=f"training loss, {width} hidden units")  # fmt: skip
    section.figure(loss_src, "Training loss per example (log scale).", width="640px")
    section.table(
        ["activation", "final loss per example", "training accuracy", "seconds"],
        [[a, r["loss_per_example"], r["train_accuracy"], f"{r['seconds']:.2f}"] for a, r in runs.items()],
        anchor="tab-activations",
    )

    section.heading("Hidden layer size", anchor="moons-widths")
    wruns, wact = m["width"], config["width_activation"]
    waccs = {int(w): r["train_accuracy"] for w, r in wruns.items()}
    panels = [(f"{w} hidden: acc {waccs[int(w)]:.3f}", arr[f"width/{w}/regions"]) for w in wruns]
    width_src = _regions(ctx, "moons_hidden_sizes.png", panels, xs, ys, X, y, ncols=4,
                         suptitle=f"{wact}, by hidden layer size")  # fmt: skip
    section.figure(
        width_src,
        f"From {min(waccs)} hidden unit(s) to {max(waccs)}: more units bend the boundary further, until it starts "
        "to fit the noise.",
    )
    unit_keys = sorted((k for k in arr if k.startswith("units/")), key=lambda k: int(k.split("/")[1]))
    unit_src = None
    if unit_keys:
        panels = [(f"hidden unit {j + 1}: {wact}(z1[{j + 1}]) > 0", arr[k]) for j, k in enumerate(unit_keys)]
        panels.append(("network output", arr[f"act/{wact}/regions"]))
        unit_src = _regions(ctx, "moons_hidden_units.png", panels, xs, ys, X, y, ncols=4,
                            suptitle=f"what each hidden unit computes ({wact}, {len(unit_keys)} units)")  # fmt: skip
        section.figure(
            unit_src,
            "Each hidden unit splits the plane with one line (where its net input is 0); the output layer "
            "combines the half-planes into the curved boundary.",
        )

    one_point = 1 / len(y)  # a gap of one training point is within what the CPU's vector path can move
    record_every = config["record_every"]
    n_records = len(arr["pass"])
    tenth = max(1, n_records // 10)
    early = {a: float(arr[f"act/{a}/loss_per_example"][tenth]) for a in runs}
    slowest = max(early, key=early.get)
    grad_max = max(errors.values())
    section.heading("What the numbers show")
    section.bullets(
        [
            f"Logistic regression reaches {logreg_acc:.3f}; one hidden layer of {width} {wact} units reaches "
            f"{accs.get(wact, float('nan')):.3f} with a curved boundary: the hidden layer is what bends the line.",
            f"Backprop agrees with finite differences to at most {grad_max:.1e} relative error for every "
            "activation, so the gradients are right and any difference below comes from the functions themselves.",
            "By activation, training accuracy is "
            + ", ".join(f"{a} {v:.3f}" for a, v in accs.items())
            + f"; {highest_phrase(accs, one_point)} here (a gap of one point of {len(y)} is not a ranking: the "
            f"CPU's vector path alone can move it). At pass {int(arr['pass'][tenth]):,} (a tenth of the way), "
            f"{slowest} has "
            f"the highest loss ({early[slowest]:.3f} per example against {min(early.values()):.3f} for the best)"
            + ("; its derivative is at most 1/4, so its gradients are the smallest." if slowest == "sigmoid" else "."),
            f"By width ({wact}), training accuracy is "
            + ", ".join(f"{w}: {v:.3f}" for w, v in waccs.items())
            + f". L2 (λ = {lam:g}) only partly restrains the widest networks from bending around noisy points.",
        ]
    )
    section.paragraph(
        markup(
            "Why your last digits may differ: numpy runs tanh, exp and log on the widest vector instructions the "
            "CPU has, and each path rounds its last bit its own way; long runs carry that into the third "
            "digit. The handout's network (3 tanh units) ends its full 20,000-pass run at 0.07076 per example on "
            "numpy's AVX2 path and at 0.07132 on its AVX-512 path of the same Intel Xeon (the handout printed "
            "0.0707). "
            f"This page ran on {m.get('numpy_vector_path', 'an unrecorded path')}. To run the lower path, switch "
            "the wider targets off, e.g. ",
            code(f"{NUMPY_DISABLE_VARIABLE}='X86_V4 AVX512_ICL AVX512_SPR' backproplab mlp --dataset moons "
                 "--activation tanh --hidden 3"),
            " (the names are numpy's; its show_runtime() lists those found).",
        )
    )  # fmt: skip
    section.paragraph(
        markup(
            "Reproduce one panel with ",
            code(f"backproplab mlp --dataset moons --activation {wact} --hidden {width}"),
            f". Losses were recorded every {record_every} passes.",
        )
    )

    ctx.answer("1a", markup(f"Make-Moons, {len(y)} points, noise {config['noise']:.2f}; logistic regression "
                            f"reaches only {logreg_acc:.3f}. ", link(figure_id(data_src), "data"), ", ",
                            link(figure_id(logreg_src), "baseline")))  # fmt: skip
    ctx.answer("1b", markup("tanh′ = 1 − tanh², σ′ = σ(1 − σ) ≤ 1/4, ReLU′ = 1[z > 0], each derived step by step. ",
                            link("moons-derivatives", "derivations")))  # fmt: skip
    ctx.answer("1c", markup(f"2 → H → 2 softmax, loss summed over the examples plus (λ/2)‖W‖², λ = {lam:g}. ",
                            link("moons-loss", "forward pass and loss")))  # fmt: skip
    ctx.answer("1d", markup(f"δ2 = p − onehot(y) and the four gradients; backprop matches finite differences to "
                            f"{grad_max:.1e}. ", link("moons-gradients", "gradients"), ", ",
                            link("tab-gradient-check", "check")))  # fmt: skip
    widest = max(waccs)
    ctx.answer("1e", markup(f"Best activation at {width} units (within one point): {leaders_phrase(accs, one_point)}; "
                            f"{wact} from "
                            f"{min(waccs)} to {widest} units: {waccs[min(waccs)]:.3f} → {waccs[widest]:.3f} "
                            f"({passes:,} passes). ", link(figure_id(act_src), "activations"), ", ",
                            link(figure_id(width_src), "hidden sizes")))  # fmt: skip
    ctx.metrics["moons"] = {"result": ctx.relative(result.folder), "passes": passes, **m}
    return section


def _draw(ctx: ReportContext, name: str, plot, *args, **kwargs) -> str:
    """Draw figure ``name`` with ``plot(*args, path=..., **kwargs)``; returns its src on the page."""
    path, src = ctx.figure(name)
    plot(*args, path=path, **kwargs)
    return src


def _regions(ctx: ReportContext, name: str, panels, xs, ys, X, y, **kwargs) -> str:
    return _draw(ctx, name, figures.plot_regions_grid, panels, xs, ys, X, y, **kwargs)
