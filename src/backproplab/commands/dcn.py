"""`backproplab dcn`: train the deep convolutional network on MNIST, monitored in TensorBoard."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import warnings
from pathlib import Path
from typing import Any

from backproplab import hints, runs, signals
from backproplab.mnist_net.config import TrainConfig
from backproplab.settings import add_arguments, add_quiet, given

# torch is imported only when a run starts: building the parser must stay fast for every command.


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "dcn",
        help="train the deep convolutional network on MNIST (PyTorch), monitored in TensorBoard",
        description="Train conv5x5x32-pool-conv5x5x64-pool-fc1024-dropout-fc10 on MNIST with the course's "
        "settings (Adam 1e-4, batch 50, 5500 steps). Writes TensorBoard events, config.json, metrics.json and "
        "a checkpoint to the run folder; view with `backproplab tensorboard`. Names are matched loosely: "
        "ReLU, Xavier-Uniform and xavier_uniform are the same.",
    )
    groups = add_arguments(parser, TrainConfig)
    add_quiet(groups["monitoring and output"])  # also hides the evaluation lines: they are progress
    parser.set_defaults(func=run)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The TrainConfig the command line asks for; with --resume, unspecified settings come from the
    run folder's config.json."""
    typed = given(args, TrainConfig)
    config = TrainConfig(**typed)
    if config.resume:
        saved_path = config.out_dir() / "config.json"
        if saved_path.is_file():
            try:
                saved = json.loads(saved_path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise OSError(f"cannot read {saved_path}: {exc}") from exc
            keep = dataclasses.asdict(TrainConfig.from_dict(saved))
            keep.pop("out"), keep.pop("name")  # the folder is where we found it
            config = TrainConfig(**{**keep, **typed, "out": str(config.out_dir()), "resume": True})
            # each engine knows only its own checkpoint: the other's run would look like one never started
            runs.check_unchanged(config.out_dir(), keep, config, ("engine",))
    return config


def _one_line_warning(message: Warning | str, category: type[Warning], *_: Any, **__: Any) -> None:
    print(f"backproplab dcn: warning: {message}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from backproplab.mnist_net.run import COMMAND, train

    config = config_from_args(args)
    quiet = args.quiet
    out = Path(config.out_dir())
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning
            metrics = train(config, progress=not quiet)
    except OSError as exc:  # a full disk, a read-only folder: one line, and metrics.json where it fits
        if exc.errno not in runs.WRITE_ERRORS:
            raise
        raise runs.failed_to_write(out, config.engine, config.to_dict(), exc, COMMAND) from None
    except KeyboardInterrupt as interrupt:
        if any(out.glob("checkpoint.*")):  # the torch engine's .pt or the numpy engine's
            advice = f"the last checkpoint is kept; continue with: {runs.command_hint(COMMAND, out, '--resume')}"
        else:
            advice = f"no checkpoint yet; start again with: {runs.command_hint(COMMAND, out, '--overwrite')}"
        print(f"backproplab dcn: {signals.reason(interrupt)}; {advice}", file=sys.stderr)
        return signals.exit_code(interrupt)
    final = metrics["final"]
    if metrics.get("already_complete"):
        print(f"{out} already completed its {final['steps_done']} steps; nothing to do (raise --steps to go on)")
    print(
        f"final test accuracy {final['test_accuracy']:.2%} (error {final['test_error']:.2%}), "
        f"validation accuracy {final['validation_accuracy']:.2%}; {final['steps_done']} steps, "
        f"{metrics['steps_per_second']:.1f} steps/s, {metrics['wall_seconds']:.0f} s"
    )
    print(f"run folder: {out}  (view: {hints.tensorboard(out.parent)})")
    return 0
