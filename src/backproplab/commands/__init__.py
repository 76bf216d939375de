"""Subcommands of the ``backproplab`` CLI; each module has ``register(subparsers)``."""

from backproplab.commands import data, dcn, exercise, explore, mlp, report, sweep, tensorboard

COMMANDS = (mlp, data, dcn, sweep, tensorboard, report, explore, exercise)
