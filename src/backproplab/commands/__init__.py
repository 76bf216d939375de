"""Subcommands of the ``backproplab`` CLI; each module has ``register(subparsers)``."""

from backproplab.commands import data, dcn, explore, mlp, report, tensorboard

COMMANDS = (mlp, data, dcn, tensorboard, report, explore)
