"""Report part of 2c: the sweep's ranking per factor beside the ranking of full-length runs, with Kendall's tau, and
each finding marked where it changes with the budget (:mod:`backproplab.sweeps.agreement`).

The full-length runs are a finished ``sweep --preset course`` the user names (``report --course-sweep DIR``) or,
under ``report --full``, the report's own 5,500-step course sweep; the shorter side is the report's own sweep
(default and quick modes) or, under ``--full``, the default mode's sweep where an earlier ``make report`` left it
in the same results folder, else the full runs' own first evaluation.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backproplab.errors import UsageError
from backproplab.experiments.store import Result
from backproplab.experiments.sweep_study import runs_folder, sweep_settings, sweep_specs
from backproplab.report import claims
from backproplab.report.context import ReportContext
from backproplab.report.html import Raw, Section, Text, markup

if TYPE_CHECKING:
    from backproplab.sweeps.agreement import Agreement, Budget

FLAGS = ("--course-sweep", "the report's sweep")


def check_course_sweep(folder: str | Path, mode: str, seed: int) -> None:
    """Refuse (one line) a ``--course-sweep`` that is not a finished course sweep longer than ``mode``'s sweep."""
    from backproplab.sweeps.agreement import read_sweep  # here: sweeps.table imports report.claims

    rows = read_sweep(folder, FLAGS[0])
    longest, own = max(r["steps"] for r in rows), sweep_specs(mode, seed)[0].base["steps"]
    if mode != "full" and longest <= own:
        raise UsageError(
            f"--course-sweep: its runs train {longest:,} steps, no more than this report's {own:,}; give a course "
            "sweep at the course's budget (backproplab sweep --preset course, 5,500 steps by default)"
        )


def agreements(ctx: ReportContext, result: Result) -> dict[str, list[Agreement]]:
    """factor -> the first sweep's budgets against the full-length runs; empty when there are none to compare with."""
    from backproplab.sweeps.agreement import by_factor

    mode = result.metrics["mode"]
    own = result.folder.parent / next(iter(result.metrics["sweeps"].values()))["folder"]
    if ctx.course_sweep is not None:
        full, short = ctx.course_sweep, own if mode != "full" else _default_sweep(ctx)
    elif mode == "full":
        full, short = own, _default_sweep(ctx)
    else:
        return {}
    return by_factor(full, short, flags=FLAGS)


def _default_sweep(ctx: ReportContext) -> Path | None:
    """The default mode's course sweep in this results folder, when a finished one is there."""
    from backproplab.sweeps.agreement import read_sweep

    folder = runs_folder(ctx.results_dir, sweep_settings("default", ctx.seed)) / "course"
    try:
        read_sweep(folder, FLAGS[1])
    except UsageError:
        return None
    return folder


def _kind(budget: Budget) -> str:
    """Test error, else validation error where the budget did not score the test set (``eval_images``)."""
    return "test_error" if budget.measured("test_error") else "validation_error"


def _pct(value: float) -> str:
    return "—" if not math.isfinite(value) else f"{100 * value:.2f}%"


def _tau(value: float) -> str:
    return "—" if not math.isfinite(value) else f"{value:+.2f}"


def _label(budget: Budget) -> str:
    where = {"short sweep": "this report's sweep", "evaluation": "the full runs' evaluation"}.get(budget.source, "")
    return f"{budget.steps:,} steps ({where})" if where else f"{budget.steps:,} steps"


def render(section: Section, factor: str, title: str, anchor: str, listed: list[Agreement]) -> tuple[bool, str]:
    """The side-by-side table, the taus and the finding at both budgets, under ``factor``'s heading.
    Returns (whether the finding changes with the budget, the full budget's claim)."""
    first = listed[0]
    short, full = first.budget, first.full
    kind = _kind(short)
    what = kind.replace("_", " ")
    # Ranks and findings over the values both budgets trained: a value only one of them has is listed, not ranked.
    both = [v for v in full.errors[kind] if v in short.errors[kind]]
    short_errors = {v: short.errors[kind][v] for v in both}
    full_errors = {v: full.errors[kind][v] for v in both}
    short_means, full_means = short.means(kind), full.means(kind)
    short_rank = {v: i + 1 for i, v in enumerate(o for o in short.order(kind) if o in both)}
    full_rank = {v: i + 1 for i, v in enumerate(o for o in full.order(kind) if o in both)}
    values = [*full_rank, *(v for v in full_means if v not in full_rank)]
    values += [v for v in short_means if v not in values]

    def moved(value: Any) -> str:
        if value not in short_rank or value not in full_rank:
            return "—"
        step = short_rank[value] - full_rank[value]
        return "same place" if step == 0 else f"{'up' if step > 0 else 'down'} {abs(step)}"

    section.heading(f"{title}: ranking at {short.steps:,} and at {full.steps:,} steps", f"{anchor}-budgets")
    section.table(
        [factor, f"{what} at {_label(short)}", "rank", f"{what} at {full.steps:,} steps", "rank",
         f"place at {full.steps:,} steps"],
        [[v, _pct(short_means.get(v, math.nan)), short_rank.get(v, "—"), _pct(full_means.get(v, math.nan)),
          full_rank.get(v, "—"), moved(v)] for v in values],
        caption=f"{title}: mean {what} over seeds at both budgets, lowest first at {full.steps:,} steps (values "
        "trained at one budget only are listed, not ranked)",
        anchor=f"tab-{anchor}-budgets",
    )  # fmt: skip
    taus = "; ".join(
        f"{_label(a.budget)}: {_tau(a.tau(kind))}"
        + f" (per seed {', '.join(f'{s}: {_tau(t)}' for s, t in a.seed_taus(kind).items())})"
        for a in listed
    )
    tau_line = (
        f"Kendall's tau of each shorter budget's ranking ({what}, means over seeds) against the "
        f"{full.steps:,}-step one (+1: the same order, 0: unrelated, −1: reversed): {taus}."
    )
    if min(len(short_rank), len(full_rank)) < 2:  # too few values measured at both budgets to state a finding
        section.bullets([tau_line, "Fewer than two values have numbers at both budgets: no finding to compare."])
        return False, "no finding"
    before, after = claims.lowest_finding(short_errors), claims.lowest_finding(full_errors)
    short_claim, full_claim = claims.lowest_claim(short_errors, what), claims.lowest_claim(full_errors, what)
    changed = before.key() != after.key()
    verdict: Text = Raw("<b>This finding changes with the budget.</b>") if changed else "The finding holds at both."
    section.bullets(
        [tau_line, markup(f"At {short.steps:,} steps: {short_claim}. At {full.steps:,} steps: {full_claim}. ", verdict)]
    )
    return changed, full_claim


def intro(listed: dict[str, list[Agreement]], course_sweep: Path | None, relative: Any) -> Text:
    """One paragraph: where the full-length runs come from and how the comparison reads."""
    first = next(iter(listed.values()))[0]
    source = (
        markup("the finished course sweep in ", Raw(f"<code>{relative(course_sweep)}</code>"))
        if course_sweep is not None
        else "this report's own course sweep"
    )
    return markup(
        f"Full-length runs are available ({first.full.steps:,} steps: ",
        source,
        "), so each factor below also shows its ranking at that budget beside this one, with Kendall's tau between "
        "the two orderings (also at the full runs' own earlier evaluations), and marks each finding that changes "
        "with the budget.",
    )
