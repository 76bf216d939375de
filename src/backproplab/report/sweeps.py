"""Report section: nonlinearities, initialisations and training algorithms (assignment 2c), rendered
from the finished sweep study (:mod:`backproplab.experiments.sweep_study`): the sweeps' own figures
(copied beside the page), their ``sweep.json`` rows, and the numbers read from their runs' events.

A factor's runs are the one-factor slice through the reference run: the run whose value of every
factor is that factor's most common value in the sweep (the course's relu, truncated_normal, adam in
``--preset course``); an optimizer keeps its own learning rate. Every value is trained with the same seeds,
and the page ranks two values only where their paired gap exceeds the noise (:data:`claims.RULE`).
"""

from __future__ import annotations

import math
import shutil
from collections import Counter, defaultdict
from typing import Any

import numpy as np

from backproplab import hints
from backproplab.experiments.store import Result
from backproplab.experiments.sweep_study import FULL_STEPS, LAYERS, QUICK_SUBSETS, run_sweep_study
from backproplab.report import claims, sweep_budgets
from backproplab.report.context import ReportContext
from backproplab.report.html import Raw, Section, Text, code, figure_id, link, markup

ANCHOR = "sweeps"
FACTORS = {"activation": "Nonlinearities", "init": "Initialisations", "optimizer": "Training algorithms"}
INSIDE = {"activation": "activation_inside.png", "init": "init_inside.png", "optimizer": "optimizer_loss.png"}
#: Always predicting "1" scores 11.35% on the MNIST test set: an error near 88.65% is chance level.
CHANCE_ERROR = 0.8865
#: The MNIST test set the last evaluation scores whole.
TEST_IMAGES = 10_000
#: Why the default budget, and how far its rankings carry (docs/results.md, "Rank agreement between budgets").
BUDGET_MEASURED = (
    "Why this budget: measured against 5,500-step course sweeps (the guide's results page, \"Rank agreement "
    'between budgets"), on the mean of two seeds the activation and optimizer orders at 600 steps agreed with the '
    "5,500-step ones as well as at 1,100 to 4,400, while single seeds scattered; the initialisation order agreed only "
    "partly at every budget up to 2,200 steps and better from 3,300, a budget 20 settings do not fit in the report's "
    "half hour. At 5,500 steps the alternatives to the course's init end within 0.2 points of each other, so two "
    "seeds at a short budget tell more than one seed at a longer one. Read the initialisation ranking below as this "
    "budget's only."
)
#: Factors whose ranking at the default budget did not predict the course's (same measurement): their claims say so.
SHORT_BUDGET_ONLY = {
    "init": "at this budget only: measured against 5,500 steps, the initialisation order at 200 to 600 steps only "
    "partly predicted the course's, where the alternatives to its init end within 0.2 points"
}


def mode_of(ctx: ReportContext) -> str:
    return "quick" if ctx.quick else "full" if ctx.full else "default"


def run(ctx: ReportContext) -> Result:
    return run_sweep_study(
        ctx.results_dir,
        mode=mode_of(ctx),
        seed=ctx.seed,
        data_dir=ctx.data_dir,
        rerun=ctx.rerun,
        progress=ctx.progress,
    )


def slices(rows: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, dict[Any, list[dict[str, Any]]]]]:
    """(reference row, factor -> value -> rows) of the full-budget rows (see the module docstring)."""
    longest = max(r["steps"] for r in rows)
    full = [r for r in rows if r["steps"] == longest]
    common = {f: Counter(r[f] for r in full).most_common(1)[0][0] for f in FACTORS}
    reference = next((r for r in full if all(r[f] == v for f, v in common.items())), full[0])
    out: dict[str, dict[Any, list[dict[str, Any]]]] = {}
    for factor in FACTORS:
        groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        for row in full:
            if all(row[f] == reference[f] for f in FACTORS if f != factor):
                groups[row[factor]].append(row)
        if len(groups) >= 2:
            out[factor] = dict(groups)
    return reference, out


def _mean(values: list[float | None]) -> float:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan


def _pct(value: float) -> str:
    return "—" if not math.isfinite(value) else f"{100 * value:.2f}%"


def _by_seed(members: list[dict[str, Any]]) -> dict[Any, float | None]:
    """seed -> final test error of a value's runs."""
    return {r["seed"]: r["test_error"] for r in members}


def _with_spread(spread: claims.Spread) -> str:
    """``"2.96% (2.80–3.12%)"``: the mean and, with two seeds or more, the min–max over seeds."""
    if spread.seeds < 2:
        return _pct(spread.mean)
    return f"{_pct(spread.mean)} ({100 * spread.low:.2f}–{_pct(spread.high)})"


def _gap(gap: claims.PairedGap) -> str:
    """``"+1.20 ± 0.10 points"``: the paired gap in percentage points and its standard error."""
    if gap.pairs < 2:
        return "—"
    return f"{100 * gap.mean:+.2f} ± {100 * gap.se:.2f} points"


def render(result: Result, ctx: ReportContext) -> Section:
    sweeps = result.metrics["sweeps"]
    section = Section("Nonlinearities, initialisations and training algorithms (sweeps)", ANCHOR)
    answers: list[Text] = []
    budgets = sweep_budgets.agreements(ctx, result)  # the first sweep against full-length runs, where there are any
    for index, (name, sweep) in enumerate(sweeps.items()):
        compared = budgets if index == 0 else {}
        answers += _render_sweep(section, name, sweep, result, ctx, lead=len(sweeps) > 1, budgets=compared)
    section.heading("Set against the literature", "sweep-literature")
    section.bullets(_literature(sweeps, budgets if result.metrics["mode"] != "full" else None))
    folders = [ctx.relative(result.folder.parent / s["folder"]) for s in sweeps.values()]
    section.paragraph(
        markup(
            "Every run of these sweeps is an ordinary DCN run folder with its full monitoring, and each sweep folder "
            "holds its HParams experiment: ",
            *[x for f in folders for x in (code(hints.tensorboard(f)), " ")],
            "(paths relative to this page's folder). The same sweeps from the command line: ",
            code("backproplab sweep --preset course"),
            ".",
        )
    )
    ctx.answer("2c", markup(*answers))
    ctx.metrics["sweeps"] = {
        name: {"folder": ctx.relative(result.folder.parent / s["folder"]), "runs": s["table"]["runs"]}
        for name, s in sweeps.items()
    }
    return section


def _copy_figures(ctx: ReportContext, result: Result, name: str, sweep: dict[str, Any]) -> dict[str, str]:
    """The sweep's figures, copied under ``figures/sweep-<name>/``: file name -> src on the page."""
    folder = result.folder.parent / sweep["folder"]
    out = {}
    for figure in sweep["table"].get("figures", []):
        source = folder / figure
        if source.is_file():
            path, src = ctx.figure(f"sweep-{name}/{figure}")
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, path)
            out[figure] = src
    if (folder / "lr_search.png").is_file() and "lr_search.png" not in out:
        path, src = ctx.figure(f"sweep-{name}/lr_search.png")
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(folder / "lr_search.png", path)
        out["lr_search.png"] = src
    return out


def _render_sweep(
    section: Section,
    name: str,
    sweep: dict[str, Any],
    result: Result,
    ctx: ReportContext,
    lead: bool,
    budgets: dict[str, list[Any]],
) -> list[Text]:
    table, inside = sweep["table"], sweep["inside"]
    rows = table["runs"]
    reference, groups = slices(rows)
    figures = _copy_figures(ctx, result, name, sweep)
    seeds = sorted({r["seed"] for r in rows})
    steps = reference["steps"]
    config = _run_config(result, sweep, reference)
    batch = config.get("batch_size", 50)
    mode = result.metrics["mode"]
    if lead:
        section.heading(f"Sweep {name!r} ({table.get('preset') or 'grid'})", f"sweep-{name}")
    budget = {
        "quick": f"a {steps}-step preview on MNIST subsets (quick mode)",
        "default": f"{steps:,} steps of {batch} images each, a reduced budget (the course trains {FULL_STEPS:,}; "
        f"{code('backproplab report --full').markup} trains {FULL_STEPS:,} with a learning-rate search)",
        "full": f"the course's {steps:,} steps of {batch} images each",
    }[mode]
    tuned = "lr_search" in table
    lr_text = (
        "Learning rates were tuned per optimizer: each optimizer's rate was searched on a grid a factor 3 apart "
        "after a short budget, extended beyond an edge when the best was there, and the best rate on validation "
        "error trained in full (table below)."
        if tuned
        else "Learning rates were <b>not</b> tuned per optimizer in this build: each optimizer runs at its default "
        "rate (chosen once for this network by a 400-step search of three rates, see "
        f"{code('backproplab.mnist_net.choices').markup}; Adam at the course's 1e-4), so the optimizer ranking "
        f"below is a ranking at those rates (the tuned comparison is {code('report --full').markup})."
    )
    statuses = Counter(r["status"] for r in rows)
    seed_text = (
        f"each setting trained with {len(seeds)} seeds ({', '.join(map(str, seeds))}): a value's number is the mean "
        "over its seeds, shown with the min–max over them; values are compared seed by seed, and "
        + claims.RULE
        + ". Where a gap does not pass, the page says the values are indistinguishable at this budget"
        if len(seeds) >= 2
        else f"one seed ({seeds[0]}): the numbers have no spread to size a gap against, so no ranking is claimed"
    )
    walls = [r["wall_seconds"] for r in rows if isinstance(r.get("wall_seconds"), int | float)]
    took = f" (here the {len(walls)} runs' wall times add up to {sum(walls) / 60:.0f} min)" if walls else ""
    trade = (
        f" Trade: {len(seeds)} seeds at {steps:,} steps cost {len(seeds)} times the training of one seed{took}, "
        "spent on knowing which gaps are noise rather than on a longer budget; a ranking here may still change at "
        f"the course's {FULL_STEPS:,} steps. " + BUDGET_MEASURED
        if mode == "default"
        else ""
    )
    section.paragraph(
        markup(
            f"{len(rows)} runs ({', '.join(f'{n} {s}' for s, n in statuses.items())}), {seed_text}. Trained by the "
            "sweep runner, one factor at a time from the reference run "
            f"({reference['activation']}, {reference['init']}, {reference['optimizer']} at learning rate "
            f"{reference['lr']:g}); every run: ",
            Raw(budget),
            ".",
            trade,
            " ",
            Raw(lr_text),
            _evaluation_text(config, steps, mode),
        )
    )
    if budgets:
        section.paragraph(sweep_budgets.intro(budgets, ctx.course_sweep, ctx.relative))
    answers: list[Text] = []
    for factor, title in FACTORS.items():
        if factor not in groups:
            continue
        anchor = f"sweep-{name}-{factor}"
        section.heading(f"{title}: {factor}", anchor)
        curves = figures.get(f"{factor}_curves.png")
        bars = figures.get(f"{factor}_test_error.png")
        inner = figures.get(INSIDE[factor])
        if curves:
            section.figure(curves, f"Validation error and training loss per {factor}, overlaid.")
        if bars:
            section.figure(bars, f"Final test error per {factor}: {_spread_caption(seeds)}.", width="640px")
        if inner:
            section.figure(inner, _inside_caption(factor))
        summary = _summary(groups[factor], inside)
        by_seed = {v: _by_seed(members) for v, members in groups[factor].items()}
        lowest, gaps = _gaps(by_seed)
        table_anchor = f"tab-sweep-{name}-{factor}"
        section.table(
            [factor, "seeds", "final test error: mean (min–max)", "paired gap to the lowest (mean ± SE)",
             "final validation error", "best validation error (step)", "training loss early → late",
             _inside_header(factor)],
            [[v, s["spread"].seeds, _with_spread(s["spread"]), _verdict(v, lowest, gaps), _pct(s["validation"]),
              s["best"], s["loss"], s["inside"]]
             for v, s in summary.items()],
            caption=f"{title}: final numbers per value (means over seeds)",
            anchor=table_anchor,
        )  # fmt: skip
        claim = claims.lowest_claim(by_seed) if lowest is not None else ""
        if claim and mode == "default" and factor not in budgets and factor in SHORT_BUDGET_ONLY:
            claim = f"{claim} ({SHORT_BUDGET_ONLY[factor]})"
        section.bullets(_observations(factor, summary, reference, claim))
        later = ""
        if factor in budgets:
            changed, full_claim = sweep_budgets.render(section, factor, title, anchor, budgets[factor])
            full_steps = budgets[factor][0].full.steps
            if mode != "full":  # the page's own claim is the full budget's under --full
                same = f"(the same at {full_steps:,} steps) "
                later = f"(at {full_steps:,} steps: {full_claim}) " if changed else same
        if claim:
            answers += ["; "] if answers else []
            answers += [
                f"{factor}: {claim}. ",
                later,
                link(table_anchor, "table"),
                ", ",
                link(figure_id(curves), "curves") if curves else "",
            ]
    if tuned:
        search = table["lr_search"]
        section.heading(f"Learning-rate search ({name})", f"sweep-{name}-lr")
        if "lr_search.png" in figures:
            section.figure(figures["lr_search.png"], "Validation error after the short budget per learning rate.")
        section.table(
            ["optimizer", "rates tried (validation error)", "best rate"],
            [
                [opt, ", ".join(f"{lr}: {_pct(e) if e is not None else 'diverged'}" for lr, e in e_["rates"].items()),
                 "—" if e_["best"] is None else f"{e_['best']:g}"]
                for opt, e_ in search.items()
            ],
            anchor=f"tab-sweep-{name}-lr",
        )  # fmt: skip
    section.heading(f"All runs ({name})", f"tab-sweep-{name}-runs-heading")
    section.table(
        ["activation", "init", "optimizer", "lr", "seed", "steps", "status", "validation error", "test error",
         "best validation (step)", "s", "steps/s"],
        [[r["activation"], r["init"], r["optimizer"], f"{r['lr']:g}", r["seed"], r["steps_done"], r["status"],
          _pct(_mean([r["validation_error"]])), _pct(_mean([r["test_error"]])), _best(r),
          _num(r.get("wall_seconds"), "{:.0f}"), _num(r.get("steps_per_second"), "{:.1f}")]
         for r in rows],
        caption=f"Every run of the sweep (also in {ctx.relative(result.folder.parent / sweep['folder'])}/sweep.csv)",
        anchor=f"tab-sweep-{name}-runs",
    )  # fmt: skip
    if not answers:
        answers = ["No factor took two values in this sweep"]
    return [f"{name} sweep: " if lead else "", *answers, ". "]


def _evaluation_text(config: dict[str, Any], steps: int, mode: str) -> str:
    """The evaluation trade, where the runs scored a validation subset before their last evaluation."""
    subset, every = config.get("eval_images"), config.get("eval_every")
    if not subset or not every or every >= steps:
        return ""
    evaluations = steps // every + (steps % every != 0)
    validation, test = (
        (QUICK_SUBSETS["validation"], QUICK_SUBSETS["test"])
        if mode == "quick"
        else (config.get("validation_size", 5000), TEST_IMAGES)
    )
    subset = min(subset, validation)
    now = (evaluations - 1) * subset + validation + test
    return (
        f" Evaluation: the runs are evaluated every {every} steps; the evaluations before the last score only the "
        f"first {subset:,} of the {validation:,} validation images and not the test set, and the last scores both "
        "whole sets, so every final number on this page is on the whole sets. The validation curves' earlier points "
        f"therefore carry {math.sqrt(validation / subset):.1f} times the sampling noise of a whole-set point, and a "
        f"run's best validation error may come from such a point. The trade: each run scores {now:,} images instead "
        f"of {evaluations * (validation + test):,}, and trains exactly as it would with every evaluation whole (the "
        "time this saves is measured on the guide's results page)."
    )


def _gaps(by_seed: dict[Any, dict[Any, float | None]]) -> tuple[Any, dict[Any, claims.PairedGap]]:
    try:
        return claims.gaps_to_lowest(by_seed)
    except ValueError:  # every run of the factor diverged or failed
        return None, {}


def _verdict(value: Any, lowest: Any, gaps: dict[Any, claims.PairedGap]) -> str:
    """The table cell: the lowest, or the gap to it and whether it exceeds the noise."""
    if value == lowest:
        return "lowest mean"
    gap = gaps.get(value)
    if gap is None or gap.pairs == 0:
        return "—"
    if gap.pairs < 2:
        return f"{100 * gap.mean:+.2f} points (one seed: not judged)"
    return f"{_gap(gap)}: " + ("higher by more than the noise" if gap.resolved else "indistinguishable")


def _spread_caption(seeds: list[Any]) -> str:
    if len(seeds) < 2:
        return "one seed, so no spread is drawn"
    return f"the dot is the mean over {len(seeds)} seeds, the bar their min–max; log axis where values span a decade"


def _run_config(result: Result, sweep: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    import json

    path = result.folder.parent / sweep["folder"] / row["run"] / "config.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _num(value: Any, fmt: str) -> str:
    return fmt.format(value) if isinstance(value, int | float) and math.isfinite(value) else "—"


def _best(row: dict[str, Any]) -> str:
    value = row.get("best_validation_error")
    if value is None:
        return "—"
    return f"{_pct(value)} ({row.get('best_validation_step')})"


def _inside_header(factor: str) -> str:
    return {
        "activation": "saturated / silent share, last batch (conv1, conv2, fc1)",
        "init": "activation std first → last (conv1, conv2, fc1)",
        "optimizer": "fc1 weight std first → last",
    }[factor]


def _inside_caption(factor: str) -> str:
    return {
        "activation": "Inside the network, per layer: the share of saturated units (tanh, sigmoid) or silent units "
        "(ReLU family) over training, from the runs' activation histograms (upper bounds at bin resolution).",
        "init": "Inside the network, per layer: the std of each layer's activations and of its weights over "
        "training (log scale), per initialisation.",
        "optimizer": "Training loss per optimizer on a log scale, and how far each optimizer spreads each "
        "layer's weights (weight std).",
    }[factor]


def _summary(members_by_value: dict[Any, list[dict[str, Any]]], inside: dict[str, Any]) -> dict[Any, dict[str, Any]]:
    out = {}
    for value, members in members_by_value.items():
        ins = [inside.get(r["run"]) or {} for r in members]
        early = _mean([i.get("loss_early") for i in ins])
        late = _mean([i.get("loss_late") for i in ins])
        out[value] = {
            "spread": claims.spread(r["test_error"] for r in members),
            "test": _mean([r["test_error"] for r in members]),
            "validation": _mean([r["validation_error"] for r in members]),
            "best": _best(min(members, key=lambda r: r.get("best_validation_error") or math.inf)),
            "loss_early": early,
            "loss_late": late,
            "loss": f"{early:.3f} → {late:.3f}" if math.isfinite(early) and math.isfinite(late) else "—",
            "off": {layer: _mean([i.get("off_share", {}).get(layer) for i in ins]) for layer in LAYERS},
            "act_std": {
                layer: [
                    _mean([(i.get("activation_std", {}).get(layer) or [None, None])[k] for i in ins]) for k in (0, 1)
                ]
                for layer in LAYERS
            },
            "fc1_w": [_mean([(i.get("weight_std", {}).get("fc1") or [None, None])[k] for i in ins]) for k in (0, 1)],
            "statuses": Counter(r["status"] for r in members),
        }
        s = out[value]
        s["inside"] = {
            "activation": ", ".join(f"{100 * v:.0f}%" if math.isfinite(v) else "—" for v in s["off"].values()),
            "init": ", ".join(f"{a:.3g} → {b:.3g}" for a, b in s["act_std"].values()),
            "optimizer": f"{s['fc1_w'][0]:.4g} → {s['fc1_w'][1]:.4g}",
        }
    for s in out.values():  # the column for this factor only
        s["inside"] = s["inside"][_factor_of(members_by_value)]
    return out


def _factor_of(members_by_value: dict[Any, list[dict[str, Any]]]) -> str:
    """Which factor differs between the groups."""
    rows = [r for members in members_by_value.values() for r in members]
    for factor in FACTORS:
        if len({r[factor] for r in rows}) > 1:
            return factor
    return "activation"


def _observations(factor: str, summary: dict[Any, dict[str, Any]], reference: dict[str, Any], claim: str) -> list[Text]:
    ranked = sorted((s["test"], v) for v, s in summary.items() if math.isfinite(s["test"]))
    notes: list[Text] = []
    if ranked:
        notes.append(
            "Final test error, lowest mean first (min–max over seeds): "
            + ", ".join(f"{v} {_with_spread(summary[v]['spread'])}" for _, v in ranked)
            + f". What these numbers support: {claim}."
        )
        chance = [v for e, v in ranked if e >= CHANCE_ERROR - 0.05]
        if chance:
            notes.append(
                f"At or near chance level (always answering one digit scores about {_pct(CHANCE_ERROR)} error): "
                + ", ".join(map(str, chance))
                + ": these settings had not started to learn within the budget."
            )
    failed = [f"{v} ({', '.join(k for k in s['statuses'] if k != 'completed')})"
              for v, s in summary.items() if set(s["statuses"]) - {"completed"}]  # fmt: skip
    if failed:
        notes.append("Did not complete: " + ", ".join(failed) + ".")
    if factor == "activation":
        parts = [
            f"{v}: {', '.join(f'{layer} {100 * x:.0f}%' for layer, x in s['off'].items() if math.isfinite(x))}"
            for v, s in summary.items()
        ]
        notes.append(
            "Units that barely respond on the last monitored batch (saturated within 2% of the range of a bound "
            "for tanh and sigmoid; in the lowest histogram bucket for the others, i.e. silent or nearly so): "
            + "; ".join(parts)
            + "."
        )
    elif factor == "init":
        spread = {v: s["act_std"]["fc1"][0] for v, s in summary.items() if math.isfinite(s["act_std"]["fc1"][0])}
        if spread:
            lo, hi = min(spread, key=spread.get), max(spread, key=spread.get)
            notes.append(
                f"The fc1 activations start with the smallest spread under {lo} (std {spread[lo]:.3g}) and the "
                f"largest under {hi} (std {spread[hi]:.3g}); the initialisation sets the scale each layer starts at."
            )
    elif factor == "optimizer":
        early = {v: s["loss_early"] for v, s in summary.items() if math.isfinite(s["loss_early"])}
        late = {v: s["loss_late"] for v, s in summary.items() if math.isfinite(s["loss_late"])}
        if early and late:
            notes.append(
                f"Lowest training loss over the first tenth of training: {min(early, key=early.get)} "
                f"({min(early.values()):.3f}); over the last tenth: {min(late, key=late.get)} "
                f"({min(late.values()):.3f})."
            )
    return notes


def _literature(sweeps: dict[str, Any], budgets: dict[str, list[Any]] | None = None) -> list[Text]:
    """Published findings (verified in ``SWEEPS.md``), each set against this build's numbers and, with ``budgets``
    (:func:`sweep_budgets.agreements` of a shorter sweep), against the full-length runs' too."""
    first = next(iter(sweeps.values()))
    tuned = next((s for s in sweeps.values() if "lr_search" in s["table"]), None)
    _, groups = slices(first["table"]["runs"])
    if tuned is not None:  # optimizers compared at their tuned rates, not mixed with the default-rate runs
        groups = {**groups, "optimizer": slices(tuned["table"]["runs"])[1].get("optimizer", {})}
    budgets = budgets or {}

    def seeds_of(factor: str, value: str) -> dict[Any, float | None]:
        return _by_seed(groups.get(factor, {}).get(value, []))

    def full_seeds(factor: str, value: str) -> dict[Any, float | None]:
        return dict(budgets[factor][0].full.errors["test_error"].get(value, {})) if factor in budgets else {}

    def compare(factor: str, low: str, high: str, holds: str, fails: str, source=seeds_of) -> tuple[str, str]:
        """(text, outcome): ``holds`` when ``low`` has the lower error by more than the noise, ``fails`` when
        ``high`` has."""
        gap = claims.paired_gap(source(factor, low), source(factor, high))
        err = {v: _with_spread(claims.spread(source(factor, v).values())) for v in (low, high)}
        numbers = f"{low} {err[low]} vs {high} {err[high]}"
        if gap.pairs == 0:
            return "not measured in this build.", "none"
        if gap.pairs < 2:
            return f"{numbers}: one seed, so no ranking is claimed.", "one seed"
        if not gap.resolved:
            return f"{numbers}: indistinguishable at this budget ({gap.pairs} seeds, by the rule above).", "tie"
        return f"{numbers}, {holds if gap.mean > 0 else fails}.", "holds" if gap.mean > 0 else "fails"

    def among(factor: str, values: tuple[str, ...], source=seeds_of) -> tuple[str, Any]:
        present = {v: source(factor, v) for v in values if claims.spread(source(factor, v).values()).seeds}
        if len(present) < 2:
            return "not measured in this build.", "none"
        listed = ", ".join(f"{v} {_with_spread(claims.spread(present[v].values()))}" for v in present)
        return f"{listed} test error; by the rule above, {claims.lowest_claim(present)}.", (
            claims.lowest_finding(present).key()
        )

    def judged(kind: Any, factor: str, *args: Any) -> str:
        """The finding at this budget and, where full-length runs are compared, whether it holds there."""
        text, outcome = kind(factor, *args)
        if factor not in budgets or outcome == "none":
            return text
        later, later_outcome = kind(factor, *args, source=full_seeds)
        steps = budgets[factor][0].full.steps
        if later_outcome == outcome:
            return f"{text} The same at {steps:,} steps."
        return f"{text} At {steps:,} steps: {later} This finding changes with the budget."

    quick = all(s.get("mode") == "quick" for s in sweeps.values())
    caveat = ["Quick mode: these runs are a few steps long, so the comparisons below only show that the page is "
              "built from the numbers; the rankings mean nothing yet."] if quick else []  # fmt: skip
    return [
        *caveat,
        "Glorot & Bengio (2010): sigmoid with small random initialisation trains slowly and poorly (the top hidden "
        "layer saturates). Here: "
        + judged(compare, "activation", "relu", "sigmoid", "sigmoid ends worse than relu, as reported",
                 "sigmoid ends better than relu, unlike the report"),
        "Glorot, Bordes & Bengio (2011): rectifier networks perform as well as or better than tanh networks. Here: "
        + judged(compare, "activation", "relu", "tanh", "relu ends better, as reported",
                 "tanh ends better, unlike the report"),
        "Glorot & Bengio (2010): the normalised (Xavier) initialisation helps tanh; He et al. (2015): Var[w] = "
        "2/fan_in for ReLU networks speeds early training compared with Xavier; the course's truncated normal uses "
        "a fixed std 0.1. Here (relu network): "
        + judged(among, "init", ("xavier_normal", "he_normal", "truncated_normal"))
        + " The per-layer spreads are in the initialisation figure.",
        "Kingma & Ba (2015): Adam makes fast early progress; Wilson et al. (2017): adaptive methods can generalise "
        "worse than well-tuned SGD with momentum, and tuning the learning rate per optimizer changes the ranking. "
        + ("With rates tuned per optimizer: " if tuned is not None
           else "At default rates, not tuned in this build (not the tuned comparison Wilson et al. ask for): ")
        + judged(among, "optimizer", ("adam", "sgd", "momentum")),
        "For scale: TensorFlow's Deep MNIST tutorial reports about 99.2% test accuracy after 20,000 steps of Adam "
        "1e-4; always predicting \"1\" scores 11.35%.",
    ]  # fmt: skip
