"""Part 2 of the exercise (PyTorch): the starter, the reference solution passing 2a, 2a-step and 2b, and
the common mistakes named. Each check run imports torch in its child process: one run per test."""

from __future__ import annotations

from pathlib import Path

from backproplab.exercise.items import items_of_part
from backproplab.exercise.sandbox import check_workspace
from backproplab.exercise.workspace import start_workspace
from exercise_solution import DCN, fill, mutate

PART2 = items_of_part("2")


def _workspace(tmp_path: Path, *, filled: bool = True, bodies: dict | None = None) -> Path:
    ws = tmp_path / "ws"
    start_workspace(ws, "2")
    if filled:
        fill(ws, bodies=bodies)
    return ws


def test_fresh_part_two_is_not_started(tmp_path: Path) -> None:
    results = check_workspace(_workspace(tmp_path, filled=False), PART2)
    assert [r["status"] for r in results] == ["not started"] * 3
    assert results[2]["summary"] == "needs 2a first: weight_variable is not filled in yet"


def test_reference_solution_passes_part_two(tmp_path: Path) -> None:
    results = check_workspace(_workspace(tmp_path), PART2)
    assert {r["item"]: r["status"] for r in results} == dict.fromkeys(PART2, "passed"), results
    assert any(line.startswith("logits: relative error") for line in results[0]["details"])


def test_conv_without_same_padding_is_named(tmp_path: Path) -> None:
    ws = _workspace(tmp_path, bodies=mutate((DCN, None, "conv2d"), ("padding=W.shape[-1] // 2", "padding=0")))
    (result,) = check_workspace(ws, ["2a"])
    assert result["status"] == "failed"
    assert result["summary"] == "conv2d(x, W, b) gives shape (2, 4, 8, 8), expected (2, 4, 12, 12)"
    assert result["diagnosis"].startswith("no SAME padding")


def test_missing_zero_grad_and_missing_tags_are_named(tmp_path: Path) -> None:
    bodies = {
        **mutate((DCN, None, "forward_backward"), ("        optimizer.zero_grad()\n", "")),
        **mutate(
            (DCN, "DCN", "forward"),
            ('capture[f"{layer}/net_input"], capture[f"{layer}/activation"], capture[f"{layer}/pooled"] = z, a, x',
             'capture[f"{layer}/net_input"], capture[f"{layer}/activation"] = z, a'),
        ),
    }  # fmt: skip
    step, tags = check_workspace(_workspace(tmp_path, bodies=bodies), ["2a-step", "2b"])
    assert step["status"] == "failed"
    assert step["diagnosis"] == "the gradients add up over calls: clear them first (optimizer.zero_grad())"
    assert tags["status"] == "failed"
    assert tags["summary"] == "forward(x, capture) did not capture conv1/pooled, conv2/pooled"
