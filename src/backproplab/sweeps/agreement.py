"""How well a sweep's ranking at a shorter budget predicts the ranking at the full one: Kendall's tau per factor.

The full budget is a finished ``sweep --preset course`` (5,500 steps by default); the shorter budgets are a
short sweep's final evaluation (the default report's short sweep) and every evaluation the full runs
recorded before their last (``eval_every``: 1,100, 2,200, ...), read from each run's ``metrics.json`` curves.
A factor's runs are the one-factor slice through the course's run (:func:`backproplab.sweeps.figures.factor_groups`,
as on the sweep's figures). At each budget a value's number is its mean over seeds; tau compares the values'
means at that budget with their means at the full budget (``scipy.stats.kendalltau``, tau-b: ties allowed),
and per seed the values' numbers of that seed alone. NaN where fewer than two values have both numbers (a
diverged value, or an evaluation that did not score the test set: ``eval_images``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from backproplab import hints
from backproplab.errors import UsageError
from backproplab.sweeps import state, table

FACTORS = ("activation", "init", "optimizer")
ERRORS = ("test_error", "validation_error")
#: value -> seed -> error (None or NaN where not measured)
BySeed = dict[Any, dict[int, float]]


@dataclass(frozen=True)
class Budget:
    """One factor's numbers after ``steps`` steps: ``errors[kind][value][seed]`` for ``kind`` in :data:`ERRORS`.
    ``source``: "short sweep", "evaluation" (a full run's evaluation before its last) or "final"."""

    steps: int
    source: str
    errors: dict[str, BySeed]

    def means(self, kind: str = "test_error") -> dict[Any, float]:
        """value -> mean over its seeds with a finite number (NaN when none)."""
        return {value: _mean(seeds.values()) for value, seeds in self.errors[kind].items()}

    def order(self, kind: str = "test_error") -> list[Any]:
        """The values with a finite mean, lowest first (ties in their sweep order)."""
        means = {v: m for v, m in self.means(kind).items() if math.isfinite(m)}
        return sorted(means, key=means.__getitem__)

    def measured(self, kind: str = "test_error") -> bool:
        return len(self.order(kind)) >= 2


@dataclass(frozen=True)
class Agreement:
    """One factor at one shorter budget against the full one."""

    factor: str
    budget: Budget
    full: Budget

    def tau(self, kind: str = "test_error") -> float:
        """Kendall's tau between the values' means at the budget and at the full budget."""
        return kendall_tau(self.budget.means(kind), self.full.means(kind))

    def seed_taus(self, kind: str = "test_error") -> dict[int, float]:
        """seed -> Kendall's tau between the values' numbers of that seed at the two budgets."""
        seeds = sorted({s for by in self.full.errors[kind].values() for s in by})
        return {
            seed: kendall_tau(
                {v: by.get(seed) for v, by in self.budget.errors[kind].items()},
                {v: by.get(seed) for v, by in self.full.errors[kind].items()},
            )
            for seed in seeds
        }

    def top(self) -> tuple[Any, Any]:
        """(lowest mean at the budget, lowest mean at the full budget) among the values measured at both: test
        error, else validation error where the budget did not score the test set (None where nothing was)."""
        kind = "test_error" if self.budget.measured("test_error") else "validation_error"
        short, full = self.budget.order(kind), self.full.order(kind)
        both = set(short) & set(full)
        short, full = [v for v in short if v in both], [v for v in full if v in both]
        return (short[0] if short else None, full[0] if full else None)


def kendall_tau(a: Mapping[Any, float | None], b: Mapping[Any, float | None]) -> float:
    """Kendall's tau-b between ``a`` and ``b`` over the keys where both are finite (NaN below two such keys, or
    where either side has every value equal)."""
    from scipy.stats import kendalltau

    keys = [k for k in a if k in b and _finite(a[k]) and _finite(b[k])]
    if len(keys) < 2:
        return math.nan
    with warnings.catch_warnings():  # a constant side: scipy warns and returns NaN, which is the answer
        warnings.simplefilter("ignore")
        return float(kendalltau([a[k] for k in keys], [b[k] for k in keys]).statistic)


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _mean(values: Any) -> float:
    finite = [v for v in values if _finite(v)]
    return float(np.mean(finite)) if finite else math.nan


# ----------------------------------------------------------------------------- reading sweep folders


def read_sweep(
    folder: str | Path, flag: str, preset: str | None = "course", seeds: Collection[int] | None = None
) -> list[dict[str, Any]]:
    """The rows of the finished sweep in ``folder`` (:func:`backproplab.sweeps.table.row_for`, each with its
    ``curves``), from its ``sweep_config.json`` and run folders alone. ``preset``: the preset it must have been
    run with. ``seeds``: only these seeds' runs (they must have finished; the others may still be training).
    Raises a one-line :class:`UsageError` starting with ``flag`` for a folder that is not a finished sweep of
    that preset, or that has no run of a seed asked for, naming the fix."""
    from backproplab.sweeps.sweep import SWEEP_CONFIG, read_sweep_config

    folder = Path(folder)
    command = hints.shell(hints.PROGRAM, "sweep", "--preset", preset or "course", "--out", folder)
    if not folder.is_dir():
        raise UsageError(f"{flag}: {folder} is not a folder; give the --out folder of a finished `{command}`")
    try:
        saved = read_sweep_config(folder)
    except UsageError as exc:
        raise UsageError(f"{flag}: {exc}") from None
    if not isinstance(saved, dict) or not isinstance(saved.get("runs"), list) or not saved["runs"]:
        raise UsageError(
            f"{flag}: {folder} holds no sweep ({SWEEP_CONFIG} is missing or lists no runs); give the --out folder "
            f"of a finished `{command}`"
        )
    spec = saved.get("spec") or {}
    if preset is not None and spec.get("preset") != preset:
        raise UsageError(
            f"{flag}: {folder} holds a sweep {_described(spec)}, not --preset {preset}; give the folder of a "
            f"finished `{command}`"
        )
    rows = []
    for entry in saved["runs"]:
        row = table.row_for(folder / entry["run"], entry["config"])
        row["curves"] = (state.read_metrics(folder / entry["run"]) or {}).get("curves") or {}
        rows.append(row)
    if seeds is not None:
        rows = _of_seeds(rows, seeds, flag, folder)
    unfinished = [r for r in rows if r["status"] not in ("completed", "diverged")]
    if unfinished:
        again = _rerun_command(spec, folder)
        raise UsageError(
            f"{flag}: {len(unfinished)} of the {len(rows)} runs in {folder} have not finished (e.g. "
            f"{unfinished[0]['run']}: {unfinished[0]['status']}); finish them with `{again}` (finished runs are "
            "skipped, interrupted ones resumed)"
        )
    return rows


def _of_seeds(rows: list[dict[str, Any]], seeds: Collection[int], flag: str, folder: Path) -> list[dict[str, Any]]:
    has = sorted({r["seed"] for r in rows})
    missing = sorted(set(seeds) - set(has))
    if missing:
        raise UsageError(
            f"{flag}: {folder} has no run of seed {', '.join(map(str, missing))}; its seeds are "
            f"{', '.join(map(str, has))}: ask for those"
        )
    return [r for r in rows if r["seed"] in seeds]


def _described(spec: dict[str, Any]) -> str:
    return f"of preset {spec['preset']!r}" if spec.get("preset") else "of its own lists (no preset)"


def _rerun_command(spec: dict[str, Any], folder: Path) -> str:
    words: list[Any] = []
    if spec.get("preset"):
        words += ["--preset", spec["preset"]]
    if spec.get("seeds"):
        words += ["--seeds", ",".join(map(str, spec["seeds"]))]
    for key, value in sorted((spec.get("base") or {}).items()):
        if key in ("steps", "eval_every", "eval_images", "monitor_every", "batch_size"):
            words += [f"--{key.replace('_', '-')}", str(value)]
    return hints.shell(hints.PROGRAM, "sweep", *words, "--out", folder)


def trained_on(rows: list[dict[str, Any]], folder: str | Path) -> str:
    """The machine the sweep's first completed run recorded (:meth:`backproplab.hardware.Hardware.describe`)."""
    import dataclasses

    from backproplab.hardware import Hardware

    names = [f.name for f in dataclasses.fields(Hardware)]
    for row in rows:
        final = (state.read_metrics(Path(folder) / row["run"]) or {}).get("final") or {}
        if row["status"] == "completed" and all(name in final for name in names):
            return Hardware(**{name: final[name] for name in names}).describe()
    return "unknown (no completed run recorded its machine)"


# ----------------------------------------------------------------------------- budgets


def _groups(rows: list[dict[str, Any]]) -> dict[str, dict[Any, list[dict[str, Any]]]]:
    from backproplab.sweeps.figures import factor_groups

    return {f: g for f, g in factor_groups(rows).items() if f in FACTORS}


def _final(members: list[dict[str, Any]], kind: str) -> dict[int, float]:
    return {r["seed"]: math.nan if r.get(kind) is None else float(r[kind]) for r in members}


def _at(members: list[dict[str, Any]], kind: str, step: int) -> dict[int, float]:
    """seed -> the run's ``kind`` at its evaluation after ``step`` steps (NaN where it has none)."""
    out = {}
    for row in members:
        curves = row.get("curves") or {}
        steps, values = curves.get("step") or [], curves.get(kind) or []
        value = values[steps.index(step)] if step in steps and steps.index(step) < len(values) else None
        out[row["seed"]] = math.nan if value is None else float(value)
    return out


def budgets(rows: list[dict[str, Any]], short: list[dict[str, Any]] | None = None) -> dict[str, list[Budget]]:
    """factor -> its budgets, shortest first and the full budget last: the short sweep's final numbers (when
    ``short`` is given), each evaluation every full run recorded before its last, and the full runs' final numbers."""
    full_groups = _groups(rows)
    short_groups = _groups(short) if short else {}
    out: dict[str, list[Budget]] = {}
    for factor, groups in full_groups.items():
        members = [r for ms in groups.values() for r in ms]
        longest = max(r["steps"] for r in members)
        shared = set.intersection(*(set((r.get("curves") or {}).get("step") or []) for r in members))
        listed: list[Budget] = []
        if factor in short_groups:
            steps = max(r["steps"] for ms in short_groups[factor].values() for r in ms)
            errors = {k: {v: _final(ms, k) for v, ms in short_groups[factor].items()} for k in ERRORS}
            listed.append(Budget(steps, "short sweep", errors))
        for step in sorted(s for s in shared if s < longest):
            errors = {k: {v: _at(ms, k, step) for v, ms in groups.items()} for k in ERRORS}
            listed.append(Budget(step, "evaluation", errors))
        listed.append(Budget(longest, "final", {k: {v: _final(ms, k) for v, ms in groups.items()} for k in ERRORS}))
        out[factor] = listed
    return out


def by_factor(
    full: str | Path,
    short: str | Path | None = None,
    flags: tuple[str, str] = ("--full", "--short"),
    seeds: Collection[int] | None = None,
) -> dict[str, list[Agreement]]:
    """factor -> an :class:`Agreement` per shorter budget (shortest first) of the finished course sweep ``full``
    and, given, the finished shorter sweep ``short``. ``flags``: what the messages call the two folders.
    ``seeds``: only these seeds, in both sweeps (all when None; see :func:`read_sweep`).
    One-line :class:`UsageError` for a folder that is not a finished sweep, or a short sweep that is not shorter."""
    rows = read_sweep(full, flags[0], seeds=seeds)
    short_rows = read_sweep(short, flags[1], preset=None, seeds=seeds) if short is not None else None
    longest = max(r["steps"] for r in rows)
    if short_rows and max(r["steps"] for r in short_rows) >= longest:
        raise UsageError(
            f"{flags[1]}: its runs train {max(r['steps'] for r in short_rows):,} steps, no fewer than the "
            f"{flags[0]} sweep's {longest:,}; give the shorter sweep as {flags[1]} and the longer as {flags[0]}"
        )
    return {
        factor: [Agreement(factor, budget, listed[-1]) for budget in listed[:-1]]
        for factor, listed in budgets(rows, short_rows).items()
    }


def rank_agreement(
    full: str | Path, short: str | Path | None = None, seeds: Collection[int] | None = None
) -> list[Agreement]:
    """:func:`by_factor` as one list, factor by factor (``--full`` and ``--short`` in the messages)."""
    return [a for listed in by_factor(full, short, seeds=seeds).values() for a in listed]


def markdown_table(agreements: list[Agreement]) -> str:
    """The agreements as a markdown table: factor × budget, tau on means (test, validation), per seed, top pick."""
    lines = [
        "| factor | budget | tau, test error | tau, validation error | tau per seed (test) "
        "| lowest at budget → at full |",
        "|---|---|---|---|---|---|",
    ]
    for a in agreements:
        seeds = ", ".join(f"{s}: {_tau(t)}" for s, t in a.seed_taus().items())
        top, top_full = a.top()
        pick = f"{top} (same)" if top == top_full else f"{top} → {top_full}"
        budget = f"{a.budget.steps:,} ({'short sweep' if a.budget.source == 'short sweep' else 'full runs'})"
        lines.append(
            f"| {a.factor} | {budget} | {_tau(a.tau())} | {_tau(a.tau('validation_error'))} | {seeds} | {pick} |"
        )
    return "\n".join(lines)


def _tau(value: float) -> str:
    return f"{value:+.2f}" if math.isfinite(value) else "—"
