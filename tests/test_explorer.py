"""The explorer's runs and page, without a browser (the browser test is test_explorer_browser.py)."""

from __future__ import annotations

import dataclasses
import itertools
import json
import re

import numpy as np
import pytest

from backproplab.cli import main
from backproplab.explorer import RunSpec, render_page, snapshot_passes, train_run
from backproplab.explorer.page import dataset_record
from backproplab.explorer.runs import default_specs, load_points
from backproplab.scratch import DeepNeuralNetwork, NeuralNetwork


@pytest.mark.parametrize("passes", [1, 2, 7, 100, 20000])
def test_snapshot_passes_start_at_zero_end_at_the_last_pass_and_are_dense_early(passes):
    marks = snapshot_passes(passes, 40)
    assert marks[0] == 0 and marks[-1] == passes
    assert all(a < b for a, b in itertools.pairwise(marks))
    assert len(marks) == min(40, passes + 1)
    if passes >= 1000:
        assert sum(m <= passes // 10 for m in marks) > len(marks) / 2  # most snapshots in the first tenth


def test_training_in_pieces_is_the_uninterrupted_run():
    data = load_points("moons")
    spec = RunSpec("moons", (3,), "tanh", passes=500)
    record = train_run(spec, data, snapshots=12)
    whole = NeuralNetwork(2, 3, 2, "tanh", 0.01, 0)
    whole.fit_model(data.X_train, data.y_train, epsilon=0.01, num_passes=500, print_loss=False)
    last = record["snapshots"][-1]
    assert last["pass"] == 500
    for recorded, live in zip(last["params"], whole.parameters(), strict=True):
        np.testing.assert_array_equal(np.asarray(recorded), live)
    assert last["train_loss"] == whole.calculate_loss(data.X_train, data.y_train) / data.y_train.shape[0]
    assert last["test_accuracy"] == float(np.mean(whole.predict(data.X_test) == data.y_test))


def test_a_deep_run_records_every_layer_and_learns():
    data = load_points("circles")
    record = train_run(RunSpec("circles", (8, 8), "relu", passes=800, epsilon=0.01), data, snapshots=10)
    first, last = record["snapshots"][0], record["snapshots"][-1]
    assert [np.asarray(p).shape for p in last["params"]] == [(2, 8), (8,), (8, 8), (8,), (8, 2), (2,)]
    assert last["train_loss"] < first["train_loss"]
    net = DeepNeuralNetwork(2, [8, 8], 2, actFun_type="relu", reg_lambda=0.01, seed=0)
    for live, recorded in zip(net.parameters(), first["params"], strict=True):
        np.testing.assert_array_equal(live, np.asarray(recorded))  # pass 0 is the initialisation


def test_the_page_inlines_its_data_safely_and_asks_for_nothing_online():
    data = load_points("moons")
    record = train_run(RunSpec("moons", (2,), "sigmoid", passes=50), data, snapshots=5)
    record["label"] = "</script><img src=x onerror=alert(1)>"
    page = render_page({"moons": dataset_record(data)}, [record])
    assert page.count("</script>") == 2  # the data block and the script: the label could not close one
    # nothing to fetch: no remote src/href, no CSS import or url(); the browser test aborts and counts requests
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//|@import|url\(", page)
    start = page.index('id="explorer-data">') + len('id="explorer-data">')
    inlined = json.loads(page[start : page.index("</script>", start)])
    assert inlined["runs"][0]["label"] == record["label"]
    assert inlined["runs"][0]["snapshots"] == json.loads(json.dumps(record["snapshots"]))


def test_default_runs_cover_the_handout_and_deeper_networks():
    specs = default_specs()
    moons = {(s.activation, s.hidden) for s in specs if s.dataset == "moons"}
    assert {("tanh", (3,)), ("sigmoid", (3,)), ("relu", (3,))} <= moons
    assert {(h,) for h in (1, 2, 3, 4, 5, 20, 50)} <= {h for _, h in moons}
    assert {"spirals", "circles"} <= {s.dataset for s in specs if len(s.hidden) > 1}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--dataset", "iris"], "needs 2-D data sets"),
        (["--hidden", "3;x"], "--hidden"),
        (["--activation", "swish"], "swish"),
        (["--snapshots", "1"], "--snapshots"),
        (["--activation", "tanh,"], "empty entry in 'tanh,'"),
    ],
)
def test_bad_input_gets_one_line(tmp_path, capsys, argv, message):
    try:
        code = main(["explore", "--out", str(tmp_path / "x"), "--no-progress", *argv])
    except SystemExit as exc:  # argparse's own parse errors: usage, then one error line
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert message in err and "error:" in err
    assert not (tmp_path / "x" / "index.html").exists()


def test_the_default_page_stays_under_3_mb(tmp_path):
    """Page size depends on the runs and their snapshot count (always 40), not on their length:
    the default runs at 60 passes each give the size of the real page."""
    from backproplab.explorer import build_explorer

    specs = [dataclasses.replace(s, passes=60) for s in default_specs()]
    page = build_explorer(tmp_path, specs, progress=False)
    assert {len(r["snapshots"]) for r in json.loads((tmp_path / "runs.json").read_text())["runs"]} == {40}
    assert page.stat().st_size < 3_000_000


@pytest.mark.pins_numbers
def test_a_default_run_trained_in_pieces_is_not_cut_short_by_the_loss_factor_rule():
    """Trained in pieces, each piece starts from an already low loss: a normal wobble above 10x that start
    is not divergence (this default run once stopped at pass 26)."""
    spec = next(s for s in default_specs() if s.run_id == "circles-tanh-8x8")
    record = train_run(spec, load_points(spec.dataset))
    assert record["snapshots"][-1]["pass"] == spec.passes
    assert record["snapshots"][-1]["train_accuracy"] > 0.95


def test_the_live_modes_defaults_are_the_first_recorded_run_and_the_engines_own():
    from backproplab.datasets.toy import make_spirals
    from backproplab.divergence import DIVERGE_FACTOR
    from backproplab.explorer.live import live_settings
    from backproplab.scratch.optimizers import Adam

    live = live_settings()
    first = default_specs()[0]
    d = live["defaults"]
    assert (d["dataset"], tuple(d["hidden"]), d["activation"]) == (first.dataset, first.hidden, first.activation)
    assert (d["lr"], d["l2"], d["seed"], d["optimizer"], d["batch"]) == (
        first.epsilon,
        first.reg_lambda,
        first.seed,
        "sgd",
        None,
    )
    assert live["datasets"]["spirals"] == {"n_samples": 300, "noise": 0.05, "options": {"n_arms": 3, "turns": 1.0}}
    assert make_spirals.__defaults__[:2] == (300, 0.05)
    assert live["optimizers"]["adam"] == {"lr": Adam.default_lr, **Adam.defaults}
    assert live["diverge_factor"] == DIVERGE_FACTOR
    json.dumps(live, allow_nan=False)  # inlined in the page as JSON


def test_a_reused_explorer_result_gets_the_page_of_this_build(tmp_path):
    """The report reuses the explorer's recorded runs, but renders its page with the current code: a page left
    by an older build (the settings key the runs, not the page's code) is not what the report shows."""
    from types import SimpleNamespace

    from backproplab.experiments.store import Result
    from backproplab.explorer import build_explorer
    from backproplab.report.explorer import FOLDER, copy_into

    spec = dataclasses.replace(default_specs()[0], passes=5)
    build_explorer(tmp_path / "result" / "page", [spec], snapshots=3, progress=False)
    current = (tmp_path / "result" / "page" / "index.html").read_text()
    (tmp_path / "result" / "page" / "index.html").write_text("<html>a page of an older build</html>")
    (tmp_path / "report").mkdir()
    copy_into(Result(tmp_path / "result", {}, {}), SimpleNamespace(out_dir=tmp_path / "report"))
    assert (tmp_path / "report" / FOLDER / "index.html").read_text() == current
