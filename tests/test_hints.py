"""What the commands tell the user to run: the user's own arguments, shell-quoted; names confined
under their root; suggestions the flag then accepts; a stop message that says what stopped it."""

from __future__ import annotations

import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from backproplab import cli, runs
from backproplab.errors import UsageError
from backproplab.mnist_net import run as train_module

SMALL = ["--quiet", "--threads", "1", "--batch-size", "10", "--eval-every", "3", "--monitor-every", "2"]


def _error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def _hint(err: str) -> list[str]:
    """The words of the command a one-line message suggests (from its last ': backproplab' to a ';')."""
    lexer = shlex.shlex(err[err.rindex(": backproplab ") + 2 :], posix=True, punctuation_chars=";")
    lexer.whitespace_split = True
    words = list(lexer)
    return words[: words.index(";")] if ";" in words else words


def test_hints_are_shell_quoted_and_parse_back() -> None:
    from backproplab import hints

    odd = "my runs/it's $HOME;rm"
    assert shlex.split(hints.tensorboard(odd)) == ["backproplab", "tensorboard", "--logdir", odd]
    hint = runs.command_hint("dcn", Path(odd), "--resume")
    assert shlex.split(hint) == ["backproplab", "dcn", "--out", odd, "--resume"]


def test_refusal_repeats_the_users_own_dcn_settings(tmp_path, capsys) -> None:
    """`dcn --steps 60 ... --out D` on a folder holding a run is told to start it again with its own
    --steps, not with the 5,500-step default (issue 21, item 15)."""
    out = tmp_path / "my run"
    out.mkdir()
    (out / "config.json").write_text("{}")  # a run stopped before its first checkpoint
    argv = ["dcn", *SMALL, "--steps", "60", "--lr", "0.01", "--out", str(out)]
    assert cli.main(argv) == 2
    assert _hint(_error(capsys)) == ["backproplab", *argv, "--overwrite"]


def test_mlp_refusal_keeps_the_data_set(tmp_path, capsys) -> None:
    out = tmp_path / "iris"
    out.mkdir()
    (out / "metrics.json").write_text("{}")
    argv = ["mlp", "--dataset", "iris", "--passes", "5", "--no-progress", "--out", str(out)]
    assert cli.main(argv) == 2
    assert _hint(_error(capsys)) == ["backproplab", *argv, "--overwrite"]


def test_resume_advice_swaps_overwrite_for_resume_and_back() -> None:
    from backproplab import hints

    with hints.invocation(["dcn", "--steps", "60", "--over", "--out", "a b"]):
        assert shlex.split(hints.again("dcn", Path("a b"), "--resume")) == [
            *["backproplab", "dcn", "--steps", "60", "--out", "a b", "--resume"]
        ]
    with hints.invocation(["dcn", "--resume", "--out", "x"]):
        assert hints.again("dcn", Path("x"), "--overwrite") == "backproplab dcn --out x --overwrite"
        # another command's run (a sweep's, the report's) is named by its folder
        assert hints.again("mlp", Path("y z"), "--overwrite") == "backproplab mlp --out 'y z' --overwrite"


def test_ctrl_c_says_interrupted_and_how_to_continue_with_the_same_settings(tmp_path, monkeypatch, capsys) -> None:
    """The Ctrl-C line names its reason (it was empty: "backproplab dcn: ; ...", item 16) and the
    command to run again keeps the user's settings (item 15)."""

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "train", ctrl_c)
    argv = ["dcn", *SMALL, "--steps", "60", "--out", str(tmp_path / "run")]
    assert cli.main(argv) == 130
    err = _error(capsys)
    assert err.startswith("backproplab dcn: interrupted; no checkpoint yet")
    assert _hint(err) == ["backproplab", *argv, "--overwrite"]


def test_mlp_ctrl_c_says_interrupted(tmp_path, monkeypatch, capsys) -> None:
    from backproplab.commands import mlp

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(mlp, "run_mlp", ctrl_c)
    assert cli.main(["mlp", "--no-progress", "--out", str(tmp_path / "run")]) == 130
    assert _error(capsys).startswith("backproplab mlp: interrupted; ")


@pytest.mark.parametrize("name", ["../../escape", "/abs/escape", "a/b", ".."])
def test_sweep_name_is_confined_under_runs_sweeps(tmp_path, monkeypatch, capsys, name) -> None:
    """`sweep --name ../../../escape` wrote outside runs/sweeps (item 7): one folder name only."""
    monkeypatch.chdir(tmp_path)
    assert cli.main(["sweep", "--name", name, "--dry-run", "--threads-per-job", "1", "--jobs", "1"]) == 2
    assert f"--name: {name!r} is not a name" in _error(capsys)
    with pytest.raises(UsageError, match="is not a name"):
        runs.confined(tmp_path, name)
    assert list(tmp_path.iterdir()) == []


def test_numpy_engine_suggests_only_activations_the_flag_accepts(tmp_path, capsys) -> None:
    """The NumPy engine's refusal of gelu suggested identity and softplus, which --activation then
    rejects (item 19): every suggestion must be accepted by the flag and by the engine."""
    from backproplab.mnist_net.choices import ACTIVATIONS

    assert cli.main(["dcn", "--engine", "numpy", "--activation", "gelu", "--out", str(tmp_path / "r"), "--quiet"]) == 2
    err = _error(capsys)
    suggested = err.split("choose one of: ")[1].split(", ")
    assert "relu" in suggested and "maxout" in suggested
    assert all(name in ACTIVATIONS for name in suggested), suggested
    assert "identity" not in suggested and "softplus" not in suggested


def test_sweep_threads_per_job_above_the_cores_is_one_line_not_a_crash(tmp_path) -> None:
    """`sweep --dry-run --threads-per-job 100000` segfaulted (rc 139, item 11): a real process, so
    that a crash cannot take the test run with it."""
    done = subprocess.run(
        [sys.executable, "-m", "backproplab.cli", "sweep", "--dry-run", "--threads-per-job", "100000"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert (
        done.stderr.strip().splitlines() == [done.stderr.strip()] and "--threads-per-job: 100000 threads" in done.stderr
    )
    assert done.returncode != -signal.SIGSEGV


def test_the_reports_tensorboard_line_is_shell_quoted(tmp_path) -> None:
    """The report page's `tensorboard --logdir` lines were not quoted (item 17): pasted, a results
    folder with a space in its name became two arguments."""
    import html
    import re

    from backproplab.experiments.store import Result
    from backproplab.report import tensorboard_views
    from backproplab.report.context import ReportContext

    page = tmp_path / "page"
    ctx = ReportContext(out_dir=page, final_dir=page, results_dir=tmp_path / "my results", quick=True)
    section = tensorboard_views.render(Result(folder=tmp_path, config={}, metrics={}), ctx)
    (line,) = [html.unescape(c) for c in re.findall(r"<code>(.*?)</code>", section.render(str)) if "--logdir" in c]
    assert shlex.split(line) == ["backproplab", "tensorboard", "--logdir", "../my results"]
