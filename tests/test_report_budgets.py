"""2c beside full-length runs: `report --course-sweep DIR` (and --full's own sweep) shows each factor's ranking at
both budgets with Kendall's tau and marks the findings that change; a folder that is not a finished course sweep
is one line before anything trains. The page is rebuilt from the shared quick report's finished sweep study (no
training); the course sweep is hand-made (tests/test_rank_agreement.py)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from backproplab.cli import main
from backproplab.errors import UsageError
from backproplab.experiments.store import Result
from backproplab.experiments.sweep_study import runs_folder, sweep_settings
from backproplab.report import build_report
from backproplab.report.context import ReportContext
from backproplab.report.sweep_budgets import agreements
from report_fixtures import build_quick_sections
from test_rank_agreement import FULL, error, make_sweep

pytestmark = pytest.mark.timeout(360)  # the shared quick report's sweep study may be trained here
REFERENCE = ("relu", "truncated_normal", "adam")
OTHERS = {"activation": ("tanh", 0), "init": ("xavier_normal", 1), "optimizer": ("sgd", 2)}


@pytest.fixture(scope="module")
def quick(tmp_path_factory, testrun_uid):
    return build_quick_sections(tmp_path_factory, testrun_uid, ["sweeps"])


def _quick_errors(report: Path) -> dict[tuple, dict[int, float]]:
    sweep = json.loads((report / "metrics.json").read_text())["sweeps"]["quick"]
    with open(report / sweep["folder"] / "sweep.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    out: dict[tuple, dict[int, float]] = {}
    for r in rows:
        out.setdefault((r["activation"], r["init"], r["optimizer"]), {})[int(r["seed"])] = float(r["test_error"])
    return out


def test_page_sets_each_factor_beside_the_course_sweep_and_marks_changed_findings(quick, tmp_path) -> None:
    report, results = quick
    course = make_sweep(tmp_path / "course", FULL, [1100, 2200, FULL])
    out = tmp_path / "page"
    build_report(out, quick=True, sections=["sweeps"], progress=False, results_dir=results, course_sweep=course)
    page = (out / "index.html").read_text()
    quick_errors = _quick_errors(report)
    assert "Full-length runs are available (5,500 steps: the finished course sweep in" in page
    for factor, (other, index) in OTHERS.items():
        setting = (*REFERENCE[:index], other, *REFERENCE[index + 1 :])
        ours = {REFERENCE[index]: quick_errors[REFERENCE], other: quick_errors[setting]}
        theirs = {v: {s: error(key, s, FULL) for s in (0, 1)} for v, key in ((REFERENCE[index], REFERENCE),
                                                                            (other, setting))}  # fmt: skip
        low = min(ours, key=lambda v: np.mean(list(ours[v].values())))
        high = next(v for v in ours if v != low)
        full_low = min(theirs, key=lambda v: np.mean(list(theirs[v].values())))
        diffs = np.array([ours[high][s] - ours[low][s] for s in (0, 1)])
        resolved = diffs.mean() > 2 * diffs.std(ddof=1) / np.sqrt(2)
        # the course sweep's paired gaps are the same for both seeds: its lowest value is a finding
        changed = not (resolved and low == full_low)
        part = page[page.index(f'id="sweep-quick-{factor}-budgets"') :]
        part = part[: part.index("<h", 1)]
        assert "ranking at 12 and at 5,500 steps" in part
        assert f"12 steps (this report&#x27;s sweep): {'+1.00' if low == full_low else '-1.00'}" in part
        assert f"1,100 steps (the full runs&#x27; evaluation): {'-1.00' if factor == 'activation' else '+1.00'}" in part
        table = part[part.index('id="tab-sweep-quick-' + factor + '-budgets"') :]
        first_row = table[table.index("<tbody><tr>") :][:300]
        assert f"<td>{full_low}</td>" in first_row  # lowest first at 5,500 steps
        rank = "1" if low == full_low else "2"  # ranked among the values both budgets trained
        ours_mean = 100 * np.mean(list(ours[full_low].values()))
        assert f"<td>{full_low}</td><td>{ours_mean:.2f}%</td><td>{rank}</td>" in first_row
        if factor == "activation":  # trained at 5,500 steps only: listed, not ranked
            assert "<td>elu</td><td>—</td><td>—</td><td>6.05%</td><td>—</td>" in table
        assert f"At 5,500 steps: {full_low} has the lowest test error, ahead of every other value" in part
        assert ("This finding changes with the budget." in part) == changed, factor
        assert ("The finding holds at both." in part) == (not changed), factor
    assert "(the same at 5,500 steps)" in page or "(at 5,500 steps: " in page  # the assignment map says it too
    # The literature's findings too: relu against tanh holds at 5,500 steps (by construction of the course sweep).
    gap = np.array([quick_errors[("tanh", *REFERENCE[1:])][s] - quick_errors[REFERENCE][s] for s in (0, 1)])
    holds = gap.mean() > 2 * gap.std(ddof=1) / np.sqrt(2)
    bullet = page[page.index("Glorot, Bordes &amp; Bengio (2011)") :]
    bullet = bullet[: bullet.index("</li>")]
    assert ("The same at 5,500 steps." in bullet) == holds
    assert ("At 5,500 steps: relu 5.05% (5.00–5.10%) vs tanh 7.05% (7.00–7.10%), relu ends better" in bullet) == (
        not holds
    )


def test_page_states_the_evaluation_trade(quick) -> None:
    page = (quick[0] / "index.html").read_text()
    assert "the evaluations before the last score only the first 100 of the 200 validation images and not the" in page
    assert "each run scores 800 images instead of 1,400" in page  # 2 evaluations: (100) + (200 + 500) vs 2 x 700


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda root: root / "missing", "is not a folder; give the --out folder of a finished `backproplab sweep"),
        (lambda root: root.mkdir() or root, "holds no sweep (sweep_config.json is missing or lists no runs)"),
        (lambda root: make_sweep(root, FULL, [FULL], preset="lr"), "holds a sweep of preset 'lr', not --preset course"),
        (lambda root: make_sweep(root, 12, [12]), "its runs train 12 steps, no more than this report's 12"),
    ],
)
def test_a_folder_that_is_not_a_finished_course_sweep_is_one_line_before_training(
    tmp_path, capsys, monkeypatch, make, message
) -> None:
    def no_training(*args, **kwargs):
        raise AssertionError("refused before anything trains")

    monkeypatch.setattr("backproplab.report.build.ReportContext", no_training)  # made just before sections run
    folder = make(tmp_path / "course")
    argv = ["report", "--quick", "--out", str(tmp_path / "page"), "--results", str(tmp_path / "results")]
    assert main([*argv, "--course-sweep", str(folder)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [err] and "--course-sweep: " in err and message in err
    assert not (tmp_path / "results").exists() and not (tmp_path / "page").exists()


def test_an_unfinished_course_sweep_names_the_command_that_finishes_it(tmp_path) -> None:
    course = make_sweep(tmp_path / "course", FULL, [1100, 2200, FULL])
    (next(p for p in course.iterdir() if p.is_dir()) / "metrics.json").unlink()
    with pytest.raises(UsageError, match=r"have not finished .* finish them with `backproplab sweep --preset course"):
        build_report(tmp_path / "page", quick=True, progress=False, results_dir=tmp_path / "r", course_sweep=course)


def test_full_mode_compares_with_its_own_sweep_and_a_default_sweep_left_in_the_results(tmp_path) -> None:
    """--full: the report's own 5,500-step sweep is the full side; the default mode's 600-step sweep in the same
    results folder, when finished, is the short side, else the full runs' first evaluation is."""
    results = tmp_path / "results"
    study = results / "sweep-full-0000"
    make_sweep(study.parent / "sweep-runs-full" / "course", FULL, [1100, 2200, FULL])
    result = Result(study, {}, {"mode": "full", "sweeps": {"course": {"folder": "sweep-runs-full/course"}}})
    ctx = ReportContext(out_dir=tmp_path, final_dir=tmp_path, results_dir=results, full=True)
    alone = agreements(ctx, result)
    assert [a.budget.steps for a in alone["activation"]] == [1100, 2200]
    make_sweep(runs_folder(results, sweep_settings("default", 0)) / "course", 600, [600])
    both = agreements(ctx, result)
    assert [(a.budget.steps, a.budget.source) for a in both["activation"]] == [
        (600, "short sweep"),
        (1100, "evaluation"),
        (2200, "evaluation"),
    ]
    assert both["activation"][0].tau() == pytest.approx(2 / 6)  # the means swap two of the six pairs


def test_a_factor_with_one_value_at_both_budgets_states_no_finding() -> None:
    from backproplab.report.html import Section
    from backproplab.report.sweep_budgets import render
    from backproplab.sweeps.agreement import Agreement, Budget

    def budget(steps: int, errors: dict) -> Budget:
        source = "short sweep" if steps < FULL else "final"
        return Budget(steps, source, {"test_error": errors, "validation_error": errors})

    short = budget(600, {"relu": {0: 0.03, 1: 0.031}, "tanh": {0: None, 1: None}})  # tanh diverged at 600 steps
    full = budget(FULL, {"relu": {0: 0.01, 1: 0.011}, "tanh": {0: 0.012, 1: 0.013}})
    section = Section("2c", "sweeps")
    assert render(section, "activation", "Nonlinearities", "a", [Agreement("activation", short, full)]) == (
        False,
        "no finding",
    )
    page = section.render()
    assert "no finding to compare" in page and "changes with the budget" not in page
    assert "<td>tanh</td><td>—</td><td>—</td><td>1.25%</td><td>2</td><td>—</td>" in page


def test_the_default_page_says_why_its_budget_and_which_ranking_is_that_budgets_only(quick, tmp_path) -> None:
    """make report's 2c states the measured agreement between budgets that chose its budget (the quick preview
    does not: its rankings mean nothing yet); the shared quick study is rendered as the default mode's."""
    from backproplab.experiments.sweep_study import run_sweep_study
    from backproplab.report import sweeps

    report, results = quick
    study = run_sweep_study(results, mode="quick", seed=0, progress=False)
    assert study.reused  # the shared quick build trained it; nothing trains here
    as_default = Result(study.folder, study.config, {**study.metrics, "mode": "default"})
    ctx = ReportContext(out_dir=tmp_path, final_dir=tmp_path, results_dir=results)
    ctx.figures_dir.mkdir()
    page = sweeps.render(as_default, ctx).render()
    assert "Why this budget: measured against 5,500-step course sweeps" in page
    assert "Read the initialisation ranking below as this budget&#x27;s only." in page
    init = page[page.index('id="sweep-quick-init"') : page.index('id="sweep-quick-optimizer"')]
    claim = init[init.index("What these numbers support:") :]
    assert "(at this budget only: measured against 5,500 steps" in claim[: claim.index("</li>")]
    activation = page[page.index('id="sweep-quick-activation"') : page.index('id="sweep-quick-init"')]
    assert "at this budget only" not in activation
    assert "Why this budget" not in (report / "index.html").read_text()
