"""The command line as a whole: every subcommand is registered and documents itself."""

from __future__ import annotations

import subprocess
import sys

import pytest

from backproplab.cli import main, subcommand_parsers

SUBCOMMANDS = sorted({words.split()[0] for words in subcommand_parsers()})  # read from the parser, not kept by hand


def test_top_level_help_lists_every_subcommand(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for name in SUBCOMMANDS:
        assert f"\n    {name}" in out


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_subcommand_help(name: str, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main([name, "--help"])
    assert exc.value.code == 0
    assert f"usage: backproplab {name}" in capsys.readouterr().out


def test_console_script_entry_point_runs() -> None:
    done = subprocess.run([sys.executable, "-m", "backproplab.cli", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("backproplab ")


def test_missing_subcommand_is_an_error(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2
    assert "required" in capsys.readouterr().err
