"""Output folders: every writer refuses a folder holding files it did not write, the report never
deletes the results it reuses, an interrupted or killed build leaves nothing behind, and a claimed
run folder loses the temporaries a killed writer left."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys

import pytest

from backproplab import cli, runs
from backproplab.errors import UsageError
from backproplab.report import SECTIONS, build_report

EXPLORE = ["explore", "--dataset", "moons", "--hidden", "3", "--activation", "tanh", "--passes", "20"]
EXPLORE += ["--snapshots", "2", "--no-progress"]


def _error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def _no_training(monkeypatch) -> None:
    def refuse(ctx):
        raise AssertionError("the folders must be checked before any section trains")

    for name in SECTIONS.names():
        monkeypatch.setitem(SECTIONS, name, dataclasses.replace(SECTIONS[name], run=refuse))


def test_report_refuses_results_inside_its_out_folder(tmp_path, monkeypatch, capsys) -> None:
    """`report --out RR --results RR/res` deleted the finished results on every build (the swap
    removes the old RR, results included; item 1): refused before anything trains."""
    _no_training(monkeypatch)
    out = tmp_path / "RR"
    for results in (out / "res", out):
        with pytest.raises(UsageError, match=r"--results .* is inside --out"):
            build_report(out, sections=["moons"], quick=True, progress=False, results_dir=results)
    argv = ["report", "--quick", "--sections", "moons", "--no-progress", "--out", str(out), "--results", str(out / "r")]
    assert cli.main(argv) == 2
    assert "is inside --out" in _error(capsys)
    assert not out.exists()


@pytest.mark.parametrize("foreign", ["a user's page", "a report"])
def test_explore_refuses_a_folder_holding_files_it_did_not_write(tmp_path, capsys, foreign) -> None:
    """`explore --out DIR` overwrote any index.html and runs.json, a report's page included (item 2)."""
    out = tmp_path / "page"
    out.mkdir()
    (out / "index.html").write_text("<p>mine</p>")
    (out / "runs.json").write_text("[]")
    if foreign == "a report":
        (out / "metrics.json").write_text(json.dumps({"backproplab_report": "0.1.0"}))
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert cli.main([*EXPLORE, "--out", str(out)]) == 2
    assert "give a new or empty folder" in _error(capsys)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_explore_replaces_its_own_page(tmp_path, capsys) -> None:
    out = tmp_path / "page"
    assert cli.main([*EXPLORE, "--out", str(out)]) == 0
    first = (out / "index.html").stat().st_mtime_ns
    assert cli.main([*EXPLORE, "--out", str(out), "--passes", "30"]) == 0
    assert (out / "index.html").stat().st_mtime_ns >= first
    assert json.loads((out / "runs.json").read_text())["runs"][0]["passes"] == 30
    # and a report refuses the explorer's folder, as the explorer refuses a report's
    assert cli.main(["report", "--quick", "--sections", "moons", "--no-progress", "--out", str(out)]) == 2
    assert "give a new or empty folder" in capsys.readouterr().err


#: A report build in a child that sends itself SIGTERM once its hidden building folder exists.
_SIGTERM_WHILE_BUILDING = """
import dataclasses, os, signal, sys, time
import backproplab.report.build as build
for name in build.SECTIONS.names():
    build.SECTIONS[name] = dataclasses.replace(build.SECTIONS[name], run=lambda ctx: None)
def write(ctx, *args):
    (ctx.out_dir / "figures").mkdir()
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(30)
build._write = write
from backproplab.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_report_stopped_by_sigterm_removes_its_building_folder(tmp_path) -> None:
    """SIGTERM/SIGHUP were handled like Ctrl-C only in dcn and mlp: a report left a .OUT.building-*
    folder (item 13). A real process, a real signal."""
    out = tmp_path / "report"
    argv = ["report", "--quick", "--sections", "moons", "--single-file", "--no-progress", "--out", str(out)]
    done = subprocess.run(
        [sys.executable, "-c", _SIGTERM_WHILE_BUILDING, *argv, "--results", str(tmp_path / "results")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 128 + signal.SIGTERM, (done.returncode, done.stderr[-3000:])
    assert done.stderr.strip() == "backproplab report: stopped by SIGTERM"
    assert [p.name for p in tmp_path.iterdir()] == []  # no half-built folder; --results was never made


def test_report_removes_the_building_folders_of_killed_builds(tmp_path, monkeypatch) -> None:
    """A `kill -9` leaves .OUT.building-* that no later build removed (item 13); a running build's
    folder (its process alive) is left alone."""
    _no_training(monkeypatch)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    killed = tmp_path / f".report.building-{dead.stdout.strip()}-x1"
    older = tmp_path / ".report.old-abc123"  # a swap killed half-way, named before builds carried their PID
    running = tmp_path / f".report.building-{os.getpid()}-x2"
    for folder in (killed, older, running):
        (folder / "figures").mkdir(parents=True)
    with pytest.raises(AssertionError, match="before any section trains"):
        build_report(tmp_path / "report", sections=["moons"], quick=True, progress=False, results_dir=tmp_path / "r")
    assert sorted(p.name for p in tmp_path.iterdir()) == [running.name]


def test_a_claimed_run_folder_loses_a_killed_writers_temporaries(tmp_path) -> None:
    """`.checkpoint.*.tmp.pt` orphaned by a kill (up to 39 MB) survived --resume (item 18)."""
    folder = tmp_path / "run"
    folder.mkdir()
    stale = [folder / ".checkpoint.k2j3.tmp.pt", folder / ".metrics.a1b2.tmp.json"]
    for path in stale:
        path.write_bytes(b"\0" * 1000)
    (folder / "checkpoint.pt").write_bytes(b"kept")
    with runs.claimed(folder):
        assert not any(p.exists() for p in stale)
    assert (folder / "checkpoint.pt").read_bytes() == b"kept"


def test_resume_clears_a_killed_checkpoint_writers_temporary(tmp_path, monkeypatch, capsys) -> None:
    from backproplab.mnist_net import run as training
    from dcn_child import synthetic_mnist

    data = synthetic_mnist()
    monkeypatch.setattr(training, "load_data", lambda config, progress=True: data)
    out = tmp_path / "run"
    argv = ["dcn", "--quiet", "--threads", "1", "--batch-size", "10", "--steps", "3", "--eval-every", "3"]
    assert cli.main([*argv, "--out", str(out)]) == 0
    orphan = out / ".checkpoint.q9w8.tmp.pt"
    orphan.write_bytes(b"\0" * 4096)
    assert cli.main(["dcn", "--quiet", "--out", str(out), "--resume"]) == 0
    assert not orphan.exists()


def test_mlp_grid_refuses_a_folder_it_did_not_write_and_replaces_its_own(tmp_path, capsys) -> None:
    """The grid writer follows the same rule as explore and report (it overwrote grid.png and grid.csv
    in any folder)."""
    grid = ["mlp", "--grid", "--dataset", "xor", "--depths", "1", "--widths", "4", "--activations", "relu"]
    grid += ["--epochs", "5", "--no-progress"]
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "grid.csv").write_text("my own table\n")
    assert cli.main([*grid, "--out", str(mine)]) == 2
    assert "files that backproplab mlp --grid did not write" in _error(capsys)
    assert (mine / "grid.csv").read_text() == "my own table\n"
    out = tmp_path / "grid"
    assert cli.main([*grid, "--out", str(out)]) == 0
    assert cli.main([*grid, "--out", str(out)]) == 0  # its own folder: replaced
