"""The exercise: the starter follows the reference, the checks pass the reference solution, report
"not started" for a fresh workspace, name the common mistakes, and survive hostile code."""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from backproplab.cli import main
from backproplab.errors import UsageError
from backproplab.exercise import handout, starter, workspace
from backproplab.exercise.items import items_of_part
from backproplab.exercise.sandbox import Limits, check_workspace, run_item
from backproplab.scratch import three_layer
from exercise_solution import DEEP, THREE, fill, mutate

PART1 = items_of_part("1")


def _workspace(tmp_path: Path, items: set[str] | None = None, bodies: dict | None = None) -> Path:
    ws = tmp_path / "ws"
    workspace.start_workspace(ws)
    if items is None or items:
        fill(ws, items, bodies)
    return ws


def _import_workspace(ws: Path, monkeypatch) -> dict:
    monkeypatch.syspath_prepend(str(ws))
    names = ("three_layer_neural_network", "n_layer_neural_network", "dcn_mnist")
    for name in names:
        sys.modules.pop(name, None)
    mods = {name: importlib.import_module(name) for name in names}
    for name in mods:
        monkeypatch.delitem(sys.modules, name)
    return mods


def _param_view(function) -> list[tuple]:
    return [(p.name, p.kind, p.default, p.annotation) for p in inspect.signature(function).parameters.values()]


# -- the starter ------------------------------------------------------------------------------------


def test_starter_signatures_are_the_references(tmp_path: Path, monkeypatch) -> None:
    ws = tmp_path / "ws"
    workspace.start_workspace(ws, "all")
    mods = _import_workspace(ws, monkeypatch)
    checked = 0
    for part in handout.PARTS.values():
        for file in part():
            for stub in file.functions:
                mine = getattr(mods[file.module], stub.reference.__name__)
                assert _param_view(mine) == _param_view(stub.reference), stub.reference.__name__
                checked += 1
            for cls in file.classes:
                learner_cls = getattr(mods[file.module], cls.name)
                for stub in cls.stubs:
                    mine = getattr(learner_cls, stub.reference.__name__)
                    assert _param_view(mine) == _param_view(stub.reference), (cls.name, stub.reference.__name__)
                    assert (inspect.cleandoc(stub.reference.__doc__ or "")) in (inspect.cleandoc(mine.__doc__ or ""))
                    checked += 1
    assert checked >= 23


def test_starter_follows_a_changed_reference_signature() -> None:
    def backprop(self, X: np.ndarray, y: np.ndarray, *, scale: float = 2.0, dtype: type = np.float32) -> tuple:
        """Changed for this test."""

    cls = handout.StarterClass("NeuralNetwork", three_layer.NeuralNetwork, "", (handout.Stub(backprop, "hint", "1d"),))
    source = starter.file_source(handout.StarterFile("x.py", "doc", "import numpy as np", (cls,)))
    assert "scale: float = 2.0" in source and "dtype: type = np.float32" in source
    namespace: dict = {}
    exec(compile(source, "x.py", "exec"), namespace)
    assert _param_view(namespace["NeuralNetwork"].backprop) == _param_view(backprop)


def test_fill_in_functions_hold_no_solution(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    workspace.start_workspace(ws)
    stubs = 0
    for name in (THREE, DEEP):
        for node in ast.walk(ast.parse((ws / name).read_text())):
            if isinstance(node, ast.FunctionDef) and "Fill in (" in (ast.get_docstring(node) or ""):
                # the docstring, then only the raise: nothing of the answer
                assert len(node.body) == 2 and isinstance(node.body[1], ast.Raise), node.name
                stubs += 1
    assert stubs == 11
    text = (ws / THREE).read_text()
    assert "delta2" not in text and "onehot" not in text  # the reference derives its gradient in its docstring


def test_start_refuses_a_workspace_with_work(tmp_path: Path, capsys) -> None:
    ws = tmp_path / "ws"
    assert main(["exercise", "start", "--out", str(ws)]) == 0
    assert main(["exercise", "start", "--out", str(ws)]) == 0  # untouched: written again
    (ws / THREE).write_text((ws / THREE).read_text() + "# my work\n")
    capsys.readouterr()
    assert main(["exercise", "start", "--out", str(ws)]) == 2
    err = capsys.readouterr().err
    assert "has work in it (three_layer_neural_network.py)" in err and len(err.strip().splitlines()) == 1
    assert (ws / THREE).read_text().endswith("# my work\n")
    with pytest.raises(UsageError, match="--part must be 1, 2 or all"):
        workspace.start_workspace(tmp_path / "other", "3")


# -- the checks on the reference, a fresh workspace and half a solution -------------------------------


def test_fresh_workspace_is_all_not_started(tmp_path: Path, capsys) -> None:
    ws = _workspace(tmp_path, items=set())
    out = tmp_path / "results.json"
    assert main(["exercise", "check", str(ws), "--json", str(out)]) == 0
    results = json.loads(out.read_text())["results"]
    assert [r["status"] for r in results] == ["not started"] * len(PART1)
    assert "0 passed, 0 failed, 5 not started" in capsys.readouterr().out


def test_reference_solution_passes_every_check(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    out = tmp_path / "results.json"
    assert main(["exercise", "check", str(ws), "--json", str(out), "--verbose"]) == 0
    results = json.loads(out.read_text())["results"]
    assert {r["item"]: r["status"] for r in results} == dict.fromkeys(PART1, "passed")
    # and the errors it passed with are those of one computation done twice, and of finite differences
    d = next(r for r in results if r["item"] == "1d")
    assert any("vs finite differences" in line for line in d["details"])


def test_an_item_whose_prerequisite_is_missing_says_so(tmp_path: Path) -> None:
    ws = _workspace(tmp_path, items={"1c", "1d"})  # 1b not done: the forward pass needs actFun
    result = run_item(ws, "1d")
    assert result["status"] == "not started" and result["summary"] == "needs 1b first: actFun is not filled in yet"


# -- one mutation per common mistake: the right item fails with the right diagnosis ----------------------

NN = (THREE, "NeuralNetwork")
MUTATIONS = {
    "loss is a mean": ("1c", (*NN, "calculate_loss"), [("-np.sum(np.log(", "-np.mean(np.log(")],
     "your data term is the mean over the N = 7 examples"),
    "sign flipped": ("1d", (*NN, "backprop"),
     [("delta2[np.arange(len(y)), y] -= 1", "delta2 = -delta2\n        delta2[np.arange(len(y)), y] += 1")],
     "times -1: a sign flipped"),
    "gradient divided by N": ("1d", (*NN, "backprop"),
     [("return dW1, db1, dW2, db2", "return dW1 / len(y), db1 / len(y), dW2 / len(y), db2 / len(y)")],
     "divided by N = 7 exactly"),
    "L2 missing from the loss": ("1c", (*NN, "calculate_loss"),
     [(" + self.reg_lambda / 2 * (np.sum(self.W1**2) + np.sum(self.W2**2))", "")],
     "the L2 term is missing from the loss"),
    "L2 doubled in the loss": ("1c", (*NN, "calculate_loss"), [("self.reg_lambda / 2 *", "self.reg_lambda *")],
     "the L2 term is reg_lambda * ||W||^2 in yours"),
    "L2 missing from the gradient": ("1d", (*NN, "backprop"),
     [(" + self.reg_lambda * self.W2", ""), (" + self.reg_lambda * self.W1", "")],
     "the L2 term is missing from the gradient"),
    "softmax over the wrong axis": ("1c", (*NN, "feedforward"),
     [("self.z2.max(axis=1,", "self.z2.max(axis=0,"), ("exp_scores.sum(axis=1,", "exp_scores.sum(axis=0,")],
     "softmax over the wrong axis"),
    "db1 shaped (1, H)": ("1d", (*NN, "backprop"), [("delta1.sum(axis=0)", "delta1.sum(axis=0, keepdims=True)")],
     "db1 has shape (1, 5) but its parameter has shape (5,)"),
    "tanh derivative at the activation": ("1d", (*NN, "backprop"),
     [("self.diff_actFun(self.z1,", "self.diff_actFun(self.a1,")],
     "the tanh derivative is computed on the activation a1 instead of the net input z1"),
    "tanh derivative as 1 - z**2": ("1b", (*NN, "diff_actFun"), [("1.0 - np.tanh(z) ** 2", "1.0 - z**2")],
     "its formula in terms of the activation, 1 - a**2, applied to the net input z"),
    "ReLU derivative 1 at 0": ("1b", (*NN, "diff_actFun"), [("(z > 0)", "(z >= 0)")],
     "ReLU's derivative at 0 is 1 in yours"),
    "softmax overflows": ("1c", (*NN, "feedforward"),
     [("np.exp(self.z2 - self.z2.max(axis=1, keepdims=True))", "np.exp(self.z2)")],
     "overflow in exp: subtract each row's max"),
    "sigmoid overflows": ("1b", (*NN, "actFun"), [("np.exp(-np.logaddexp(0.0, -z))", "np.exp(z) / (1 + np.exp(z))")],
     "overflow in exp"),
    "handout's gradient order": ("1d", (*NN, "backprop"), [("return dW1, db1, dW2, db2", "return dW1, dW2, db1, db2")],
     "returned in the handout's order"),
    "steps up the gradient": ("1e", (*NN, "fit_model"),
     [(f"self.{p} -= epsilon", f"self.{p} += epsilon") for p in ("W1", "b1", "W2", "b2")],
     "moved up the gradient"),
    "one pass short": ("1e", (*NN, "fit_model"), [("range(num_passes)", "range(num_passes - 1)")], "one pass short"),
    "deep net without L2 in the gradient": ("1f", (DEEP, "DeepNeuralNetwork", "backprop"),
     [("layer.dW + self.reg_lambda * layer.W", "layer.dW.copy()")], "the L2 term is missing from the gradient"),
    "layer derivative at the activation": ("1f", (DEEP, "Layer", "backprop"),
     [("activation_derivative(self.z,", "activation_derivative(self.a,")],
     "the tanh derivative is computed on the activation a instead of the net input z"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_a_common_mistake_fails_its_item_with_its_diagnosis(name: str, tmp_path: Path) -> None:
    item, key, changes, diagnosis = MUTATIONS[name]
    ws = _workspace(tmp_path, bodies=mutate(key, *changes))
    result = run_item(ws, item)
    assert result["status"] == "failed", result
    assert diagnosis in (result["diagnosis"] or ""), result


def test_a_failed_gradient_names_its_errors_and_worst_entry(tmp_path: Path) -> None:
    ws = _workspace(tmp_path, bodies=mutate((*NN, "backprop"), ("delta1.sum(axis=0)", "delta1.sum(axis=0) * 1.5")))
    result = run_item(ws, "1d")
    assert result["status"] == "failed" and result["diagnosis"] is None  # no common mistake explains it
    db1 = result["errors"]["db1"]
    assert db1["vs_reference"] == pytest.approx(0.2, rel=1e-6)  # |1.5g - g| / (1.5|g| + |g|)
    assert db1["yours"] == pytest.approx(1.5 * db1["reference"])
    assert any(
        line.startswith("db1: relative error 2.0e-01 vs the reference") and "largest at db1[" in line
        for line in result["details"]
    )


def test_the_learners_traceback_is_shown(tmp_path: Path) -> None:
    ws = _workspace(tmp_path, bodies=mutate((*NN, "backprop"), ("delta2 @ self.W2.T", "delta2 @ self.W2")))
    result = run_item(ws, "1d")
    assert result["status"] == "failed"
    assert "your code raised ValueError during the check (three_layer_neural_network.py, line" in result["summary"]
    assert "delta1 = (delta2 @ self.W2) * self.diff_actFun" in result["traceback"]
    assert "site-packages" not in result["traceback"] and "backproplab/exercise" not in result["traceback"]


# -- hostile code: one clear line each, and the other items still run ------------------------------------

HOSTILE = {
    **mutate(
        (*NN, "actFun"),
        ('if type == "sigmoid":', 'if type == "sigmoid":\n            while True:\n                pass'),
    ),
    **mutate(
        (*NN, "feedforward"), ("if actFun is None:", "import sys\n\n        sys.exit(3)\n        if actFun is None:")
    ),
    **mutate(
        (*NN, "backprop"),
        ("probs = self.feedforward(", "import os\n\n        os.abort()\n        probs = self.feedforward("),
    ),
    **mutate(
        (*NN, "fit_model"),
        ("for i in range(num_passes):", "big = np.ones(10 * 2**30 // 8)\n        for i in range(num_passes):"),
    ),
}


def test_hostile_code_gives_one_line_each_and_the_rest_runs(tmp_path: Path) -> None:
    ws = _workspace(tmp_path, bodies=HOSTILE)
    results = {r["item"]: r for r in check_workspace(ws, PART1, Limits(seconds=4))}
    assert results["1b"]["summary"] == "did not finish within 4 s and was stopped: an endless loop, or far too slow"
    assert results["1c"]["summary"].startswith("your code called sys.exit(3) (three_layer_neural_network.py, line")
    assert results["1d"]["summary"].startswith("your code aborted the process (SIGABRT")
    memory = "ran out of memory (the limit is 2048 MiB) (three_layer_neural_network.py, line"
    assert results["1e"]["summary"].startswith(memory)
    assert results["1f"]["status"] == "passed"  # tanh layers only: the sigmoid loop is never reached
    for item in ("1b", "1c", "1d", "1e"):
        assert results[item]["status"] == "failed" and "\n" not in results[item]["summary"]


def test_a_file_that_is_not_python_fails_every_item_in_one_line(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    (ws / THREE).write_text("This is my report, not code.\n")
    result = run_item(ws, "1b")
    assert result["summary"] == "three_layer_neural_network.py is not valid Python: invalid syntax (line 1)"
