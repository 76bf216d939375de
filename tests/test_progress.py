"""Progress suits where it goes: a redrawn bar on a terminal, readable lines in a pipe or a log file."""

from __future__ import annotations

import io
import os
import pty
import re
import subprocess
import sys
import termios
import tty
from pathlib import Path

import pytest

from backproplab.progress import LineProgress, progress_bar

PASSES = 400
# A short real run of the CLI: the handout network on 60 moons points.
COMMAND = ["mlp", "--passes", str(PASSES), "--n-samples", "60", "--name", "progress-test"]


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "MPLBACKEND": "Agg", "COLUMNS": "100"}


def test_a_pipe_gets_plain_lines_without_carriage_returns(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "backproplab.cli", *COMMAND, "--out", str(tmp_path / "run")],
        capture_output=True,
        env=_env(tmp_path),
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()
    output = done.stdout + done.stderr
    assert b"\r" not in output and b"\x1b[" not in output  # no redraws, no cursor movement
    lines = done.stderr.decode().splitlines()
    assert lines[0] == f"training: 0/{PASSES} pass (0%)"
    assert re.fullmatch(rf"training: {PASSES}/{PASSES} pass \(100%\) done in \d+:\d\d.*", lines[-1]), lines[-1]
    assert "final loss" in done.stdout.decode()


def test_a_terminal_gets_the_redrawn_bar(tmp_path: Path) -> None:
    # The same command on a pseudo-terminal (raw: no newline translation) draws tqdm's bar, redrawn
    # with bare carriage returns; so the pipe test above tells the two apart.
    main_end, child_end = pty.openpty()
    tty.setraw(child_end)
    termios.tcsetwinsize(child_end, (24, 100))  # a new terminal is 0 columns wide: no room for a bar
    process = subprocess.Popen(
        [sys.executable, "-m", "backproplab.cli", *COMMAND, "--out", str(tmp_path / "run")],
        stdout=subprocess.DEVNULL,
        stderr=child_end,
        env=_env(tmp_path),
        cwd=tmp_path,
    )
    os.close(child_end)
    chunks = []
    try:
        while chunk := _read(main_end):
            chunks.append(chunk)
    finally:
        os.close(main_end)
        assert process.wait(timeout=120) == 0
    screen = b"".join(chunks)
    assert re.search(rb"\r(?!\n)", screen) and f"{PASSES}/{PASSES}".encode() in screen


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except OSError:  # EIO: the child's end is closed and everything is read
        return b""


def test_quiet_prints_no_progress_at_all(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "backproplab.cli", *COMMAND, "--out", str(tmp_path / "run"), "--quiet"],
        capture_output=True,
        env=_env(tmp_path),
        timeout=120,
    )
    assert done.returncode == 0 and done.stderr == b""


def test_lines_come_at_the_start_every_interval_and_at_the_end(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter([0.0, 5.0, 31.0, 40.0, 62.0, 70.0])
    monkeypatch.setattr("backproplab.progress.time.monotonic", lambda: next(clock))
    log = io.StringIO()
    bar = LineProgress(4, desc="sweep", unit="run", file=log, interval=30)  # t=0
    bar.update()  # t=5: inside the interval, no line
    bar.set_postfix_str("41.0 steps/s")
    bar.update()  # t=31: a line (2 of 4 done in 31 s: 31 s to go)
    bar.update()  # t=40: no line
    bar.update()  # t=62: a line
    bar.close()  # t=70
    bar.close()  # a second close writes nothing
    assert log.getvalue().splitlines() == [
        "sweep: 0/4 run (0%)",
        "sweep: 2/4 run (50%), 00:31 elapsed, ETA 00:31, 41.0 steps/s",
        "sweep: 4/4 run (100%), 01:02 elapsed, 41.0 steps/s",
        "sweep: 4/4 run (100%) done in 01:10, 41.0 steps/s",
    ]


def test_a_callers_own_eta_replaces_the_lines_and_is_dropped_at_the_end(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter([0.0, 40.0, 50.0])
    monkeypatch.setattr("backproplab.progress.time.monotonic", lambda: next(clock))
    log = io.StringIO()
    bar = LineProgress(4, desc="sweep", unit="run", file=log, interval=30)
    bar.set_postfix_str("1.2 steps/s, ETA 0:00:11")
    bar.update()
    bar.close()
    assert log.getvalue().splitlines()[1:] == [
        "sweep: 1/4 run (25%), 00:40 elapsed, 1.2 steps/s, ETA 0:00:11",
        "sweep: 1/4 run (25%) done in 00:50, 1.2 steps/s",
    ]


def test_off_a_terminal_the_helper_gives_lines_and_nothing_when_disabled() -> None:
    log = io.StringIO()
    bar = progress_bar(2048, file=log, desc="download", unit="B", unit_scale=True, leave=False)
    assert isinstance(bar, LineProgress)
    bar.update(2048)
    bar.close()
    first, last = log.getvalue().splitlines()
    assert first == "download: 0.00/2.05k B (0%)"
    assert last.startswith("download: 2.05k/2.05k B (100%) done in ")
    assert progress_bar(10, enabled=False) is None
