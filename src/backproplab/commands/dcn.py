"""`backproplab dcn`: train the deep convolutional network on MNIST, monitored in TensorBoard."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from backproplab.dcn.config import TrainConfig
from backproplab.dcn.names import ACTIVATION_NAMES, INIT_NAMES, OPTIMIZER_DEFAULT_LRS, PRECISIONS

# torch is imported only when a run starts: building the parser must stay fast for every command.
_DEFAULTS = {f.name: f.default for f in dataclasses.fields(TrainConfig)}


def register(subparsers: argparse._SubParsersAction) -> None:
    d = _DEFAULTS
    lrs = ", ".join(f"{name} {lr:g}" for name, lr in OPTIMIZER_DEFAULT_LRS.items())
    parser = subparsers.add_parser(
        "dcn",
        help="train the deep convolutional network on MNIST (PyTorch), monitored in TensorBoard",
        description="Train conv5x5x32-pool-conv5x5x64-pool-fc1024-dropout-fc10 on MNIST with the course's "
        "settings (Adam 1e-4, batch 50, 5500 steps). Writes TensorBoard events, config.json, metrics.json and "
        "a checkpoint to the run folder; view with `backproplab tensorboard`.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        argument_default=argparse.SUPPRESS,  # only what the user types overrides a resumed run's settings
    )
    net = parser.add_argument_group("network")
    net.add_argument(
        "--activation",
        metavar="NAME",
        help=f"nonlinearity: {', '.join(ACTIVATION_NAMES)} "
        f"(maxout: 2 pieces, so conv1/conv2/fc1 have twice the weights) (default: {d['activation']})",
    )
    net.add_argument(
        "--init",
        metavar="NAME",
        help=f"weight initialisation: {', '.join(INIT_NAMES)} "
        f"(default: {d['init']}, std 0.1 cut at 2 std; biases are always 0.1)",
    )
    net.add_argument(
        "--dropout",
        type=float,
        metavar="P",
        help=f"probability of dropping an fc1 unit in training (default: {d['dropout']})",
    )
    opt = parser.add_argument_group("training")
    opt.add_argument(
        "--optimizer", metavar="NAME", help=f"{', '.join(OPTIMIZER_DEFAULT_LRS)} (default: {d['optimizer']})"
    )
    opt.add_argument("--lr", type=float, metavar="RATE", help=f"learning rate (default per optimizer: {lrs})")
    opt.add_argument(
        "--schedule",
        metavar="NAME",
        help="learning-rate schedule: constant; cosine (to 0 at the last step); step (x0.1 at 50%% and 75%% "
        f"of the steps) (default: {d['schedule']})",
    )
    opt.add_argument("--steps", type=int, metavar="N", help=f"training steps (default: {d['steps']})")
    opt.add_argument("--batch-size", type=int, metavar="N", help=f"images per step (default: {d['batch_size']})")
    opt.add_argument(
        "--seed", type=int, metavar="N", help=f"seed of the weights, dropout and batch order (default: {d['seed']})"
    )
    mon = parser.add_argument_group("monitoring and output")
    mon.add_argument(
        "--eval-every",
        type=int,
        metavar="N",
        help=f"steps between validation/test evaluations and checkpoints (default: {d['eval_every']})",
    )
    mon.add_argument(
        "--monitor-every",
        type=int,
        metavar="N",
        help=f"steps between histogram/statistics summaries (default: {d['monitor_every']})",
    )
    mon.add_argument("--out", metavar="DIR", help="run folder (default: runs/dcn/<name>)")
    mon.add_argument(
        "--name", metavar="NAME", help="run name (default: from the settings, e.g. relu-truncated_normal-adam-seed0)"
    )
    mon.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in the run folder from its last checkpoint (settings not given "
        "on the command line are taken from its config.json; --steps may be raised)",
    )
    mon.add_argument("--overwrite", action="store_true", help="replace a run already in the run folder")
    mon.add_argument("--quiet", action="store_true", help="no progress bar or evaluation lines")
    hw = parser.add_argument_group("hardware and data")
    hw.add_argument("--threads", type=int, metavar="N", help="CPU threads for PyTorch (default: PyTorch's choice)")
    hw.add_argument("--device", metavar="DEV", help=f"cpu, cuda or cuda:N (default: {d['device']})")
    hw.add_argument(
        "--precision",
        metavar="P",
        help=f"{', '.join(PRECISIONS)}; bf16 = bfloat16 autocast (default: {d['precision']})",
    )
    hw.add_argument(
        "--data-dir",
        metavar="DIR",
        help="folder with the MNIST files (default: $BACKPROPLAB_DATA, else the download cache)",
    )
    parser.set_defaults(func=run)


def config_from_args(args: argparse.Namespace) -> Any:  # -> TrainConfig
    """The TrainConfig the command line asks for; with --resume, unspecified settings come from the
    run folder's config.json."""
    given = {name: value for name, value in vars(args).items() if name in _DEFAULTS}
    config = TrainConfig(**given)
    if config.resume:
        saved_path = config.out_dir() / "config.json"
        if saved_path.is_file():
            try:
                saved = json.loads(saved_path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise OSError(f"cannot read {saved_path}: {exc}") from exc
            keep = dataclasses.asdict(TrainConfig.from_dict(saved))
            keep.pop("out"), keep.pop("name")  # the folder is where we found it
            config = TrainConfig(**{**keep, **given, "out": str(config.out_dir()), "resume": True})
    return config


def run(args: argparse.Namespace) -> int:
    from backproplab.dcn.training import train

    config = config_from_args(args).validate()
    quiet = getattr(args, "quiet", False)
    try:
        metrics = train(config, progress=not quiet)
    except KeyboardInterrupt:
        print(
            f"backproplab dcn: interrupted; continue with: backproplab dcn --out {config.out_dir()} --resume",
            file=sys.stderr,
        )
        return 130
    out = Path(config.out_dir())
    print(
        f"final test accuracy {metrics['test_accuracy']:.2%} (error {metrics['test_error']:.2%}), "
        f"validation accuracy {metrics['validation_accuracy']:.2%}; {metrics['steps_done']} steps, "
        f"{metrics['steps_per_second']:.1f} steps/s, {metrics['wall_seconds']:.0f} s"
    )
    print(f"run folder: {out}  (view: backproplab tensorboard --logdir {out.parent})")
    return 0
