"""The command line as a whole: every subcommand is registered and documents itself."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from backproplab.cli import main

SUBCOMMANDS = ["mlp", "data", "dcn", "tensorboard", "report", "explore", "exercise"]


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


# Each command line whose flags the README lists in a paragraph "Options of `backproplab <command>`: ...".
OPTION_LISTS = [
    ("mlp",),
    ("dcn",),
    ("sweep",),
    ("tensorboard",),
    ("report",),
    ("data", "verify"),
    ("data", "download"),
    ("exercise", "check"),
    ("exercise", "grade"),
]


def _readme_flags(command: tuple[str, ...]) -> set[str]:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    marker = f"Options of `backproplab {' '.join(command)}`:"
    assert readme.count(marker) == 1, f"README needs one paragraph starting {marker!r}"
    paragraph = readme.split(marker, 1)[1]
    paragraph = re.split(r"\n\s*\n|\nOptions of ", paragraph, maxsplit=1)[0]
    return set(re.findall(r"`(--[a-z][a-z0-9-]*)`", paragraph)) - {"--help"}


def _help_flags(command: tuple[str, ...], capsys) -> set[str]:
    with pytest.raises(SystemExit):
        main([*command, "--help"])
    flags = set()
    for line in capsys.readouterr().out.splitlines():  # option lines: "  --lr RATE, --epsilon RATE  help"
        invocation = re.match(r"  (-\S.*?)(?:  |$)", line)
        if invocation:
            flags |= set(re.findall(r"--[a-z][a-z0-9-]*", invocation.group(1)))
    return flags - {"--help"}


@pytest.mark.parametrize("command", OPTION_LISTS, ids=" ".join)
def test_readme_option_lists_match_help(command: tuple[str, ...], capsys) -> None:
    in_help, in_readme = _help_flags(command, capsys), _readme_flags(command)
    assert in_help, "no flags found in --help"
    assert sorted(in_help - in_readme) == [], "in --help but not in the README's option list"
    assert sorted(in_readme - in_help) == [], "in the README's option list but not in --help"
