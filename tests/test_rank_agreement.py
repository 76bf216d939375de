"""Rank agreement between budgets (Kendall's tau per factor) from hand-made sweep folders whose orderings are
chosen so that every tau is known by counting pairs; the folder checks; the benchmark script."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

from backproplab.errors import UsageError
from backproplab.sweeps.agreement import budgets, kendall_tau, markdown_table, rank_agreement, read_sweep

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import rank_agreement as script

LRS = {"adam": 1e-4, "sgd": 0.01, "momentum": 0.01}
SETTINGS = [
    ("relu", "truncated_normal", "adam"),
    *((a, "truncated_normal", "adam") for a in ("tanh", "sigmoid", "elu")),
    *(("relu", i, "adam") for i in ("xavier_normal", "he_normal")),
    *(("relu", "truncated_normal", o) for o in ("sgd", "momentum")),
]
FULL = 5500
# Each value's error above the course run's, per budget (the course's values add nothing). At 5,500 the
# activations rank relu, elu, tanh, sigmoid; at 1,100 exactly reversed (tau -1); at 2,200 as at 5,500 (tau +1);
# after the short sweep's 600 steps relu and elu swap (1 of 6 pairs: tau 4/6) and, for seed 1 only, tanh and
# sigmoid too (2 of 6: tau 2/6), which also swaps their means.
ACTIVATION = {
    FULL: {"relu": 0, "elu": 0.01, "tanh": 0.02, "sigmoid": 0.03},
    2200: {"relu": 0, "elu": 0.01, "tanh": 0.02, "sigmoid": 0.03},
    1100: {"relu": 0, "elu": -0.01, "tanh": -0.02, "sigmoid": -0.03},
    600: {"relu": 0, "elu": -0.005, "tanh": 0.02, "sigmoid": 0.03},
}
SEED1_AT_600 = {"tanh": 0.035, "sigmoid": 0.021}
INIT = {"truncated_normal": 0, "xavier_normal": -0.01, "he_normal": 0.01}  # the same at every budget
OPTIMIZER = {"adam": 0, "sgd": 0.04, "momentum": 0.02}


def error(setting: tuple[str, str, str], seed: int, step: int) -> float:
    activation, init, optimizer = setting
    shift = ACTIVATION.get(step, ACTIVATION[1100])[activation]  # a short run's earlier evaluations: never read
    if seed == 1 and step == 600:
        shift = SEED1_AT_600.get(activation, shift)
    return 0.05 + 0.001 * seed + shift + INIT[init] + OPTIMIZER[optimizer]


def make_sweep(
    root: Path, steps: int, evaluations: list[int], *, preset: str = "course", test_between: bool = True
) -> Path:
    """A sweep folder as `backproplab sweep` leaves it, as far as the agreement reads it."""
    runs = []
    for setting in SETTINGS:
        for seed in (0, 1):
            activation, init, optimizer = setting
            name = f"{activation}-{init}-{optimizer}-seed{seed}-{steps}steps"
            config = {"activation": activation, "init": init, "optimizer": optimizer, "learning_rate": LRS[optimizer],
                      "schedule": "constant", "seed": seed, "steps": steps}  # fmt: skip
            test = [error(setting, seed, s) if s == steps or test_between else None for s in evaluations]
            curves = {"step": evaluations, "test_error": test,
                      "validation_error": [error(setting, seed, s) + 0.002 for s in evaluations]}  # fmt: skip
            final = {"steps_done": steps, "test_error": test[-1], "validation_error": curves["validation_error"][-1]}
            (root / name).mkdir(parents=True)
            metrics = {"status": "completed", "config": config, "final": final, "curves": curves}
            (root / name / "metrics.json").write_text(json.dumps(metrics))
            runs.append({"run": name, "config": config})
    spec = {"name": "course", "preset": preset, "seeds": [0, 1], "base": {}}
    (root / "sweep_config.json").write_text(json.dumps({"spec": spec, "runs": runs}))
    return root


@pytest.fixture
def sweeps(tmp_path) -> tuple[Path, Path]:
    full = make_sweep(tmp_path / "full", FULL, [1100, 2200, FULL])
    short = make_sweep(tmp_path / "short", 600, [200, 400, 600], test_between=False)
    return full, short


def test_tau_per_factor_and_budget_is_the_pair_count(sweeps) -> None:
    full, short = sweeps
    found = {(a.factor, a.budget.steps): a for a in rank_agreement(full, short)}
    assert sorted(found) == sorted((f, s) for f in ("activation", "init", "optimizer") for s in (600, 1100, 2200))
    activation = {s: found["activation", s] for s in (600, 1100, 2200)}
    assert activation[1100].tau() == pytest.approx(-1) and activation[2200].tau() == pytest.approx(1)
    assert activation[600].tau() == pytest.approx(2 / 6)  # means: relu/elu and tanh/sigmoid swapped
    assert activation[600].seed_taus() == {0: pytest.approx(4 / 6), 1: pytest.approx(2 / 6)}
    assert activation[600].tau("validation_error") == pytest.approx(2 / 6)
    assert activation[600].top() == ("elu", "relu") and activation[2200].top() == ("relu", "relu")
    assert activation[1100].top() == ("sigmoid", "relu")
    for factor in ("init", "optimizer"):
        assert all(found[factor, s].tau() == pytest.approx(1) for s in (600, 1100, 2200)), factor
    assert found["activation", 600].budget.source == "short sweep" and found["init", 1100].budget.source == "evaluation"
    assert found["init", 600].full.order() == ["xavier_normal", "truncated_normal", "he_normal"]


def test_budgets_read_each_runs_recorded_evaluations(sweeps) -> None:
    full, _ = sweeps
    listed = budgets(read_sweep(full, "--full"))["activation"]
    assert [(b.steps, b.source) for b in listed] == [(1100, "evaluation"), (2200, "evaluation"), (FULL, "final")]
    at_2200 = listed[1].errors["test_error"]["elu"]
    elu = ("elu", "truncated_normal", "adam")
    assert at_2200 == {0: error(elu, 0, 2200), 1: error(elu, 1, 2200)}


def test_an_evaluation_without_the_test_set_has_no_test_tau(tmp_path) -> None:
    full = make_sweep(tmp_path / "full", FULL, [1100, 2200, FULL], test_between=False)
    for a in rank_agreement(full):
        assert math.isnan(a.tau()) and a.tau("validation_error") == pytest.approx(
            -1 if a.factor == "activation" and a.budget.steps == 1100 else 1
        )
    table = markdown_table(rank_agreement(full))
    assert "| activation | 1,100 (full runs) | — | -1.00 |" in table


def test_top_picks_are_among_the_values_both_budgets_measured(tmp_path) -> None:
    full = make_sweep(tmp_path / "full", FULL, [1100, 2200, FULL])
    short = make_sweep(tmp_path / "short", 600, [600])
    elu = next(p for p in short.iterdir() if p.name.startswith("elu-") and "seed0" in p.name)
    metrics = json.loads((elu / "metrics.json").read_text())  # elu, the lowest at 600 steps, diverged there
    metrics["status"], metrics["final"]["test_error"], metrics["final"]["validation_error"] = "diverged", None, None
    (elu / "metrics.json").write_text(json.dumps(metrics))
    (next(p for p in short.iterdir() if p.name.startswith("elu-") and "seed1" in p.name) / "metrics.json").write_text(
        json.dumps(metrics)
    )
    activation = next(a for a in rank_agreement(full, short) if a.factor == "activation" and a.budget.steps == 600)
    assert activation.top() == ("relu", "relu")


def test_kendall_tau_skips_missing_values_and_needs_two() -> None:
    assert kendall_tau({"a": 1, "b": 2, "c": None}, {"a": 1, "b": 2, "c": 0}) == pytest.approx(1)
    assert math.isnan(kendall_tau({"a": 1, "b": math.nan}, {"a": 1, "b": 2}))  # one value left: no ranking
    assert kendall_tau({"a": 1, "b": 2, "c": 3}, {"a": 1, "b": 3, "c": 2}) == pytest.approx(1 / 3)
    assert math.isnan(kendall_tau({"a": 1}, {"a": 1}))


def test_markdown_table_names_the_top_pick_that_changes(sweeps) -> None:
    table = markdown_table(rank_agreement(*sweeps))
    rows = [line for line in table.splitlines() if line.startswith("| activation | 600")]
    assert rows == ["| activation | 600 (short sweep) | +0.33 | +0.33 | 0: +0.67, 1: +0.33 | elu → relu |"]
    assert "| init | 600 (short sweep) | +1.00 | +1.00 | 0: +1.00, 1: +1.00 | xavier_normal (same) |" in table


def test_folders_that_are_not_finished_course_sweeps_are_one_line_errors(sweeps, tmp_path) -> None:
    full, short = sweeps
    with pytest.raises(UsageError, match=r"--full: .*missing is not a folder; give the --out folder"):
        rank_agreement(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match=r"holds no sweep \(sweep_config.json is missing"):
        rank_agreement(tmp_path / "empty")
    lr = make_sweep(tmp_path / "lr", FULL, [FULL], preset="lr")
    with pytest.raises(UsageError, match="holds a sweep of preset 'lr', not --preset course"):
        rank_agreement(lr)
    with pytest.raises(UsageError, match="no fewer than the --full sweep's 600; give the shorter sweep as --short"):
        rank_agreement(short, full)
    unfinished = next(p for p in full.iterdir() if p.is_dir())
    (unfinished / "metrics.json").unlink()
    with pytest.raises(
        UsageError,
        match=r"1 of the 16 runs .* have not finished .*: new\); finish them with "
        r"`backproplab sweep --preset course --seeds 0,1 --out ",
    ):
        rank_agreement(full)


def test_script_prints_the_table_or_one_line(sweeps, capsys, tmp_path) -> None:
    full, short = sweeps
    assert script.main(["--full", str(full), "--short", str(short)]) == 0
    out = capsys.readouterr().out
    assert "Rank agreement with the 5,500-step ranking" in out and "| activation | 600 (short sweep) |" in out
    assert "trained on unknown" in out  # hand-made runs record no machine
    assert script.main(["--full", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [err] and err.startswith("rank_agreement: --full:")


def test_seeds_rank_the_seeds_that_finished_while_the_others_train(sweeps, capsys) -> None:
    full, short = sweeps
    training = next(p for p in sorted(full.iterdir()) if p.name.endswith("seed1-5500steps"))
    (training / "metrics.json").unlink()
    with pytest.raises(UsageError, match="1 of the 16 runs"):
        rank_agreement(full, short)
    seed0 = {(a.factor, a.budget.steps): a for a in rank_agreement(full, short, seeds=[0])}
    assert seed0["activation", 600].tau() == pytest.approx(4 / 6)  # seed 0's relu/elu swap alone
    assert list(seed0["activation", 600].seed_taus()) == [0]
    assert seed0["activation", 1100].tau() == pytest.approx(-1.0)
    with pytest.raises(UsageError, match=r"--full: .* has no run of seed 2; its seeds are 0, 1: ask for those"):
        rank_agreement(full, short, seeds=[2])
    with pytest.raises(UsageError, match="1 of the 8 runs"):
        rank_agreement(full, short, seeds=[1])
    assert script.main(["--full", str(full), "--short", str(short), "--seeds", "0"]) == 0
    out = capsys.readouterr().out
    assert "; seeds 0; full:" in out
    assert "| activation | 600 (short sweep) | +0.67 | +0.67 | 0: +0.67 | elu → relu |" in out
    assert script.main(["--full", str(full), "--seeds", "zero"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [err] and err.startswith("rank_agreement: --seeds:")
