"""Grading many submissions (CSV and Gradescope results.json) and packing one hand-in."""

from __future__ import annotations

import csv
import json
import shutil
import zipfile
from pathlib import Path

from backproplab.cli import main
from backproplab.exercise.items import ITEMS, items_of_part, max_score
from backproplab.exercise.workspace import start_workspace
from exercise_solution import THREE, fill, mutate

VISIBILITY = {"visible", "hidden", "after_due_date", "after_published"}


def _check_gradescope(doc: dict) -> None:
    """Gradescope's results.json format: top-level score and tests[] of name/score/max_score/output/visibility."""
    assert set(doc) <= {"score", "output", "visibility", "stdout_visibility", "tests", "execution_time", "leaderboard"}
    assert isinstance(doc["score"], float) and isinstance(doc["output"], str)
    assert doc["visibility"] in VISIBILITY and doc["stdout_visibility"] in VISIBILITY
    for test in doc["tests"]:
        assert set(test) <= {"name", "number", "score", "max_score", "output", "visibility", "status", "tags"}
        assert isinstance(test["name"], str) and isinstance(test["output"], str) and test["output"]
        assert isinstance(test["score"], float) and isinstance(test["max_score"], float)
        assert 0 <= test["score"] <= test["max_score"]
        assert test["visibility"] in VISIBILITY and test["status"] in {"passed", "failed"}
    assert doc["score"] == sum(t["score"] for t in doc["tests"])


def _zip_folder(folder: Path, zip_path: Path, inner: str = "") -> None:
    with zipfile.ZipFile(zip_path, "w") as zf:
        for path in sorted(folder.iterdir()):
            zf.write(path, f"{inner}{path.name}")


def test_grade_five_submissions(tmp_path: Path, capsys) -> None:
    subs, work = tmp_path / "submissions", tmp_path / "work"
    subs.mkdir()
    correct = subs / "correct"
    start_workspace(correct)
    fill(correct)
    half = work / "half"
    start_workspace(half)
    fill(half, {"1b", "1c"})
    _zip_folder(half, subs / "half.zip", inner="my-assignment/")  # zips often add a folder level
    wrong = work / "wrong"
    start_workspace(wrong)
    fill(wrong, bodies=mutate((THREE, "NeuralNetwork", "backprop"), ("delta2 @ self.W2.T", "-delta2 @ self.W2.T")))
    _zip_folder(wrong, subs / "wrong.zip")
    crashing = subs / "crashing"
    start_workspace(crashing)
    fill(crashing)
    (crashing / THREE).write_text((crashing / THREE).read_text() + "\nimport os\n\nos.abort()\n")
    (subs / "not-python.zip").write_bytes(b"%PDF-1.4 a report, not a zip of code")

    out = tmp_path / "grades"
    assert main(["exercise", "grade", str(subs), "--out", str(out), "--no-progress"]) == 0
    rows = {row["submission"]: row for row in csv.DictReader((out / "grades.csv").open())}
    assert set(rows) == {"correct", "half", "wrong", "crashing", "not-python"}
    part1 = items_of_part("1")
    points = {n: ITEMS[n].points for n in part1}
    assert float(rows["correct"]["total"]) == max_score(part1) == float(rows["correct"]["max_score"])
    assert float(rows["half"]["total"]) == points["1b"] + points["1c"]
    # wrong gradients: 1d, 1e (it trains with them) fail; 1b, 1c and the deeper network pass
    assert {n: float(rows["wrong"][n]) for n in part1} == {**points, "1d": 0.0, "1e": 0.0}
    assert float(rows["crashing"]["total"]) == 0.0 and float(rows["not-python"]["total"]) == 0.0

    for name in rows:
        doc = json.loads((out / name / "results.json").read_text())
        _check_gradescope(doc)
        assert doc["score"] == float(rows[name]["total"])
        assert [t["number"] for t in doc["tests"]] == part1
    wrong_doc = json.loads((out / "wrong" / "results.json").read_text())
    d = next(t for t in wrong_doc["tests"] if t["number"] == "1d")
    assert "relative error" in d["output"] and "FAILED" in d["output"]
    crash = json.loads((out / "crashing" / "results.json").read_text())["tests"][0]["output"]
    assert "aborted the process (SIGABRT" in crash
    bad = json.loads((out / "not-python" / "results.json").read_text())["tests"][0]["output"]
    assert "not a zip file or folder" in bad
    assert (subs / "correct" / THREE).read_text().count("fill in") == 0  # the original untouched, no caches
    assert not (subs / "correct" / "__pycache__").exists()


def test_a_zip_cannot_write_outside_its_folder(tmp_path: Path) -> None:
    from backproplab.exercise.grading import unpack

    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../escaped.py", "x = 1")
        zf.writestr("/abs.py", "x = 1")
        zf.writestr("ok/three_layer_neural_network.py", "x = 1")
    into = tmp_path / "into"
    into.mkdir()
    unpack(evil, into)
    assert not (tmp_path / "escaped.py").exists() and not Path("/abs.py").exists()
    assert (into / "ok" / "three_layer_neural_network.py").is_file()


def test_pack_refuses_failing_checks_unless_anyway(tmp_path: Path, capsys) -> None:
    ws = tmp_path / "ws"
    start_workspace(ws)
    fill(ws, {"1b", "1c", "1d", "1e"})
    capsys.readouterr()
    assert main(["exercise", "pack", str(ws)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("backproplab exercise: error: check 1f is not started; fix it") and "\n" not in err
    assert not (ws / "handin.zip").exists()
    assert main(["exercise", "pack", str(ws), "--anyway"]) == 0
    with zipfile.ZipFile(ws / "handin.zip") as zf:
        names = set(zf.namelist())
        checks = json.loads(zf.read("checks.json"))
    assert names == {THREE, "n_layer_neural_network.py", "checks.json"}
    assert [c["status"] for c in checks] == ["passed"] * 4 + ["not started"]


def test_pack_a_finished_workspace_with_its_report(tmp_path: Path, capsys) -> None:
    ws = tmp_path / "ws"
    start_workspace(ws)
    fill(ws)
    (ws / "report" / "figures").mkdir(parents=True)
    (ws / "report" / "index.html").write_text("<html></html>")
    (ws / "report" / "figures" / "a.png").write_bytes(b"png")
    out = tmp_path / "me.zip"
    assert main(["exercise", "pack", str(ws), "--zip", str(out)]) == 0
    assert "5 of 5 checks passed" in capsys.readouterr().out
    with zipfile.ZipFile(out) as zf:
        assert {"report/index.html", "report/figures/a.png", THREE}.issubset(zf.namelist())
    shutil.rmtree(ws / "report")


def test_a_folder_over_the_size_cap_scores_zero_in_one_line_and_the_others_are_graded(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    from backproplab.exercise import grading

    subs = tmp_path / "submissions"
    fine, big, many = subs / "fine", subs / "big", subs / "many"
    for ws in (fine, big, many):
        start_workspace(ws)
        fill(ws, {"1b"})
    with (big / "data.bin").open("wb") as f:  # sparse: its size counts, no disk is used
        f.truncate(grading.MAX_SUBMISSION_BYTES + 1)
    cache = fine / "__pycache__"  # bytecode is neither copied nor counted: "fine" stays under the cap
    cache.mkdir(exist_ok=True)
    with (cache / "big.pyc").open("wb") as f:
        f.truncate(grading.MAX_SUBMISSION_BYTES + 1)
    files = len(list(many.iterdir()))
    for i in range(grading.MAX_FILES + 1 - files):
        (many / f"note{i}.txt").write_text("x")
    out = tmp_path / "grades"
    assert main(["exercise", "grade", str(subs), "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out.splitlines()
    rows = {row["submission"]: row for row in csv.DictReader((out / "grades.csv").open())}
    assert float(rows["fine"]["total"]) == ITEMS["1b"].points  # graded as usual
    limit = f"{grading.MAX_SUBMISSION_BYTES // 2**20} MiB"
    too_large = f"too large: {grading.MAX_SUBMISSION_BYTES / 2**20 + 0.1:.1f} MiB, the limit is {limit}"
    too_many = f"too many files: {grading.MAX_FILES + 1}, the limit is {grading.MAX_FILES}"
    total = f"0 / {max_score(items_of_part('1')):g}"
    assert f"big: {total} (not checked: {too_large})" in printed
    assert f"many: {total} (not checked: {too_many})" in printed
    for name, why in (("big", too_large), ("many", too_many)):
        assert float(rows[name]["total"]) == 0.0
        doc = json.loads((out / name / "results.json").read_text())
        _check_gradescope(doc)
        assert doc["output"] == f"not checked: {why}" and doc["score"] == 0.0
        assert all(why in t["output"] for t in doc["tests"])
