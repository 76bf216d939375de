"""Every setting of a run of the MNIST network (either engine), checked once when built (no torch import here)."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backproplab import runs
from backproplab.divergence import ON_DIVERGENCE, ON_DIVERGENCE_HELP
from backproplab.errors import UsageError
from backproplab.mnist_net.choices import ACTIVATIONS, ENGINES, INITS, OPTIMIZERS, PRECISIONS, SCHEDULES
from backproplab.settings import (
    Invalid,
    common_help,
    fields_shaping,
    fraction,
    non_negative_int,
    positive_float,
    positive_int,
    setting,
    validate,
)


def _default_lrs() -> str:
    return ", ".join(f"{name} {choice.default_lr:g}" for name, choice in OPTIMIZERS.items())


def _device(value: str) -> str:
    # The form only: whether this machine has that GPU is checked when a run starts (the torch engine's check_device).
    index = value.partition(":")[2] if value.startswith("cuda:") else ""
    if value not in ("cpu", "cuda") and not index.isdigit():
        raise UsageError(f"--device: unknown device {value!r}; use cpu, cuda or cuda:N")
    return value


def _whole_or_auto(text: str) -> int | str:
    # Anything else goes through as typed, for the check to name the problem.
    return int(text) if text.strip().lstrip("+-").isdigit() else text


def _threads(value: object) -> int | str:
    if value == "auto":
        return "auto"
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise Invalid("must be a positive whole number or auto")
    return value


_NET, _TRAIN, _OUT, _HW = "network", "training", "monitoring and output", "hardware and data"


@dataclass
class TrainConfig:
    """Settings of one run; the defaults are the course's (Deep MNIST for Experts).

    ``threads="auto"`` means every usable core; ``precision="auto"`` bf16 where the hardware does it
    natively, else fp32 (:mod:`backproplab.hardware`); ``deterministic`` asks PyTorch for reproducible
    algorithms (matters on a GPU, where it costs speed; a CPU run is reproducible anyway).

    Each field is declared once with its flag, help and check (:func:`backproplab.settings.setting`);
    a config is checked and its names normalised when it is built. ``lr=None`` means the optimizer's
    default; ``out=None`` means ``runs/dcn/<name>`` with ``name`` from :meth:`run_name`.
    """

    activation: str = setting(
        "relu",
        "nonlinearity (maxout: 2 pieces, so conv1/conv2/fc1 have twice the weights)",
        choices=ACTIVATIONS,
        group=_NET,
        shapes="trajectory",
    )
    init: str = setting(
        "truncated_normal",
        "weight initialisation (truncated_normal: std 0.1 cut at 2 std; biases are always 0.1)",
        choices=INITS,
        group=_NET,
        shapes="trajectory",
    )
    dropout: float = setting(
        0.5,
        "probability of dropping an fc1 unit in training",
        check=fraction(low_closed=True, why="is the probability of dropping a unit"),
        metavar="P",
        group=_NET,
        shapes="trajectory",
    )
    optimizer: str = setting("adam", "update rule", choices=OPTIMIZERS, group=_TRAIN, shapes="trajectory")
    lr: float | None = setting(
        None,
        "learning rate",
        check=positive_float,
        metavar="RATE",
        group=_TRAIN,
        default_text=f"per optimizer: {_default_lrs()}",
        shapes="trajectory",
    )
    schedule: str = setting(
        "constant",
        "learning-rate schedule: constant (the course's); cosine (to 0 at the last step); step (x0.1 at 50% and "
        "75% of the steps)",
        choices=SCHEDULES,
        group=_TRAIN,
        shapes="trajectory",
    )
    steps: int = setting(5500, "training steps", check=positive_int, metavar="N", group=_TRAIN)
    batch_size: int = setting(50, "images per step", check=positive_int, metavar="N", group=_TRAIN, shapes="trajectory")
    seed: int = setting(
        0,
        common_help("--seed", "of the weights, dropout and batch order"),
        check=non_negative_int,
        metavar="N",
        group=_TRAIN,
        shapes="trajectory",
    )
    eval_every: int = setting(
        1100,
        "steps between validation/test evaluations and checkpoints",
        check=positive_int,
        metavar="N",
        group=_OUT,
        shapes="record",
    )
    eval_images: int | None = setting(
        None,
        "validation images scored at intermediate evaluations (the first N of the validation set; the test set is "
        "skipped there); the last evaluation scores the whole validation and test sets",
        check=positive_int,
        metavar="N",
        group=_OUT,
        default_text="all, and the test set, at every evaluation",
        shapes="record",
    )
    monitor_every: int = setting(
        100,
        "steps between histogram/statistics summaries",
        check=positive_int,
        metavar="N",
        group=_OUT,
        shapes="record",
    )
    engine: str = setting(
        "torch",
        "torch: the PyTorch DCN; numpy: the same network with backprop written by hand in NumPy (fp32 on the "
        "CPU, with the activations and optimizers of the NumPy engine; --threads sets its BLAS threads)",
        choices=ENGINES,
        group=_HW,
        shapes="trajectory",
    )
    threads: int | str | None = setting(
        "auto",
        common_help("--threads")
        + " for PyTorch; auto = every core this process may use (None in Python: PyTorch's current setting)",
        parse=_whole_or_auto,
        check=_threads,
        metavar="N",
        group=_HW,
    )
    device: str = setting("cpu", "cpu, cuda or cuda:N", check=_device, metavar="DEV", group=_HW)
    precision: str = setting(
        "auto",
        "arithmetic: fp32, bf16 (bfloat16 autocast) or auto = bf16 only where the CPU (AVX-512 BF16 or AMX) or "
        "GPU does it natively, else fp32; forced bf16 elsewhere is many times slower",
        choices=PRECISIONS,
        metavar="P",
        group=_HW,
        shapes="trajectory",
    )
    deterministic: bool = setting(
        False,
        "reproducible algorithms on a GPU (cuDNN/cuBLAS), needed there for bit-exact --resume; slower on a GPU, "
        "no effect on a CPU",
        group=_HW,
    )
    data_dir: str | None = setting(
        None,
        common_help("--data-dir"),
        metavar="DIR",
        group=_HW,
        default_text="$BACKPROPLAB_DATA, else the download cache",
    )
    out: str | None = setting(None, common_help("--out"), metavar="DIR", group=_OUT, default_text="runs/dcn/<name>")
    name: str | None = setting(
        None,
        common_help("--name"),
        metavar="NAME",
        group=_OUT,
        default_text="from the settings, e.g. relu-truncated_normal-adam-seed0",
    )
    resume: bool = setting(
        False,
        "continue the run in the run folder from its last checkpoint (settings not given on the command line are "
        "taken from its config.json; --steps may be raised)",
        group=_OUT,
    )
    overwrite: bool = setting(
        False, "replace a run already in the run folder (deletes every file a run writes there)", group=_OUT
    )
    on_divergence: str = setting(
        "stop",
        ON_DIVERGENCE_HELP,
        choices=ON_DIVERGENCE,
        metavar="WHAT",
        group=_OUT,
    )
    validation_size: int = setting(
        5000, "training images held out for validation", check=positive_int, cli=False, shapes="trajectory"
    )

    def __post_init__(self) -> None:
        validate(self)
        if self.resume and self.overwrite:
            raise UsageError("--resume and --overwrite contradict each other; pass one of them")

    @property
    def learning_rate(self) -> float:
        """The learning rate in effect (``lr`` or the optimizer's default)."""
        return OPTIMIZERS[self.optimizer].default_lr if self.lr is None else self.lr

    def run_name(self) -> str:
        """``name``, or one derived from the settings, e.g. ``relu-truncated_normal-adam-seed0``."""
        if self.name:
            return self.name
        parts = [self.activation, self.init, self.optimizer]
        if self.engine != "torch":
            parts.insert(0, self.engine)
        if self.lr is not None:
            parts.append(f"lr{self.lr:g}")
        if self.schedule != "constant":
            parts.append(self.schedule)
        if self.precision != "auto":
            parts.append(self.precision)
        parts.append(f"seed{self.seed}")
        return "-".join(parts)

    def out_dir(self) -> Path:
        """``out``, else ``runs/dcn/<run name>`` (:func:`backproplab.runs.run_folder`, which refuses a bad name)."""
        return runs.run_folder("dcn", self.run_name(), self.out)

    def to_dict(self) -> dict[str, Any]:
        """Every setting, plus the learning rate in effect and the output folder (for config.json)."""
        out = dataclasses.asdict(self)
        out["learning_rate"] = self.learning_rate
        out["out"] = os.fspath(self.out_dir())
        out["name"] = self.run_name()
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Inverse of :meth:`to_dict` (derived entries and unknown keys are ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})


#: Settings a resumed run must keep (``steps`` may grow): those that shape its numbers or its record.
TRAJECTORY_FIELDS = fields_shaping(TrainConfig, "trajectory", "record")
