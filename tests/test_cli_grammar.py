"""One CLI grammar: a shared flag has one spelling, metavar and meaning on every subcommand.

The subcommands are read from the parser itself (``cli.subcommand_parsers``, nested ones such as
``data download`` too), so a new command is held to the grammar without being listed here.
"""

from __future__ import annotations

import argparse

import pytest

from backproplab.cli import build_parser, subcommand_parsers
from backproplab.settings import COMMON_FLAGS

#: Subcommands with no long work to show progress for (a server; a check that reads four files; writing a
#: workspace; checking one workspace, item by item, which prints each item as it ends).
NO_PROGRESS = {"tensorboard", "data verify", "exercise start", "exercise check", "exercise pack"}


COMMANDS = subcommand_parsers()


def required_args(parser: argparse.ArgumentParser) -> list[str]:
    """The least command line the parser accepts: a placeholder for each required argument."""
    words: list[str] = []
    for action in parser._actions:
        if action.required:
            words += [action.option_strings[0], "x"] if action.option_strings else ["x"]
    return words


def option(parser: argparse.ArgumentParser, flag: str) -> argparse.Action | None:
    return parser._option_string_actions.get(flag)


def test_the_walk_finds_every_subcommand() -> None:
    # The commands the README's range and the report use; more may come, none may vanish unseen.
    assert {"mlp", "dcn", "sweep", "report", "explore", "tensorboard", "data download", "data verify"} <= set(COMMANDS)
    assert NO_PROGRESS <= set(COMMANDS)


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("flag", sorted(COMMON_FLAGS))
def test_a_shared_flag_has_one_spelling_metavar_and_meaning(command: str, flag: str) -> None:
    common = COMMON_FLAGS[flag]
    parser = COMMANDS[command]
    action = option(parser, flag)
    for alias in common.aliases:
        assert option(parser, alias) is action, f"{command}: {alias} must be an alias of {flag}"
    if action is None:
        return
    assert action.option_strings == [flag, *common.aliases], f"{command} {flag}: other spellings"
    assert action.dest == common.dest, f"{command} {flag}: stored as {action.dest}"
    assert action.metavar == common.metavar, f"{command} {flag}: metavar {action.metavar}"
    assert (action.help or "").startswith(common.meaning), f"{command} {flag}: help {action.help!r}"


@pytest.mark.parametrize("command", sorted(set(COMMANDS) - NO_PROGRESS))
def test_every_long_command_takes_quiet_and_its_old_spelling(command: str) -> None:
    parser = COMMANDS[command]
    assert option(parser, "--quiet") is not None, f"{command} has no --quiet"
    least = required_args(parser)
    assert parser.parse_args([*least, "--quiet"]).quiet is True
    assert parser.parse_args([*least, "--no-progress"]).quiet is True
    assert not getattr(parser.parse_args(least), "quiet", False)


@pytest.mark.parametrize("command", sorted(NO_PROGRESS))
def test_commands_without_long_work_take_no_quiet(command: str) -> None:
    assert option(COMMANDS[command], "--quiet") is None


def test_sweep_accepts_the_old_spelling_that_used_to_be_an_error() -> None:
    args = build_parser().parse_args(["sweep", "--no-progress", "--dry-run"])
    assert args.quiet is True
