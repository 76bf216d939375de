"""Every setting of a DCN training run, checked before any data is read (no torch import here)."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backproplab.dcn.names import ACTIVATION_NAMES, INIT_NAMES, OPTIMIZER_DEFAULT_LRS, PRECISIONS
from backproplab.errors import UsageError

DEFAULT_RUNS_DIR = Path("runs") / "dcn"

#: Learning-rate schedules (:func:`backproplab.dcn.training.schedule_factor`): constant is the course's.
SCHEDULE_NAMES = ("constant", "cosine", "step")

#: Settings that shape the trajectory: a resumed run must use the same values (``steps`` may grow).
TRAJECTORY_FIELDS = (
    "activation",
    "init",
    "optimizer",
    "lr",
    "schedule",
    "batch_size",
    "dropout",
    "seed",
    "eval_every",
    "monitor_every",
    "precision",
    "validation_size",
)


@dataclass
class TrainConfig:
    """Settings of one run; the defaults are the course's (Deep MNIST for Experts).

    ``lr=None`` means the optimizer's documented default (:mod:`backproplab.dcn.optim`).
    ``dropout`` is the probability of dropping an fc1 unit (keep probability 1 - dropout).
    ``out=None`` means ``runs/dcn/<name>`` with ``name`` from :meth:`run_name`.
    ``threads=None`` leaves PyTorch's thread count alone.
    ``schedule``: constant, cosine (to 0 at ``steps``) or step (x0.1 at 50% and 75% of ``steps``).
    """

    activation: str = "relu"
    init: str = "truncated_normal"
    optimizer: str = "adam"
    lr: float | None = None
    schedule: str = "constant"
    steps: int = 5500
    batch_size: int = 50
    dropout: float = 0.5
    seed: int = 0
    eval_every: int = 1100
    monitor_every: int = 100
    threads: int | None = None
    device: str = "cpu"
    precision: str = "fp32"
    data_dir: str | None = None
    out: str | None = None
    name: str | None = None
    resume: bool = False
    overwrite: bool = False
    validation_size: int = 5000

    @property
    def learning_rate(self) -> float:
        """The learning rate in effect (``lr`` or the optimizer's default)."""
        return OPTIMIZER_DEFAULT_LRS[self.optimizer] if self.lr is None else self.lr

    def run_name(self) -> str:
        """``name``, or one derived from the settings, e.g. ``relu-truncated_normal-adam-seed0``."""
        if self.name:
            return self.name
        parts = [self.activation, self.init, self.optimizer]
        if self.lr is not None:
            parts.append(f"lr{self.lr:g}")
        if self.schedule != "constant":
            parts.append(self.schedule)
        if self.precision != "fp32":
            parts.append(self.precision)
        parts.append(f"seed{self.seed}")
        return "-".join(parts)

    def out_dir(self) -> Path:
        return Path(self.out) if self.out else DEFAULT_RUNS_DIR / self.run_name()

    def validate(self) -> TrainConfig:
        """Raise :class:`UsageError` naming the first bad setting; return ``self`` when all are good."""

        def bad(name: str, why: str) -> UsageError:
            flag = "--" + name.replace("_", "-")
            return UsageError(f"{flag}: {why}")

        for field, registry in (
            ("activation", ACTIVATION_NAMES),
            ("init", INIT_NAMES),
            ("optimizer", OPTIMIZER_DEFAULT_LRS),
        ):
            value = getattr(self, field)
            if value not in registry:
                raise bad(field, f"unknown name {value!r}; choose one of: {', '.join(registry)}")
        for field in ("steps", "batch_size", "eval_every", "monitor_every"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise bad(field, f"must be a positive whole number, got {value!r}")
        if self.threads is not None and (not isinstance(self.threads, int) or self.threads <= 0):
            raise bad("threads", f"must be a positive whole number, got {self.threads!r}")
        if self.lr is not None and not (isinstance(self.lr, int | float) and 0 < self.lr < float("inf")):
            raise bad("lr", f"must be a positive number, got {self.lr!r}")
        if not (isinstance(self.dropout, int | float) and 0 <= self.dropout < 1):
            raise bad("dropout", f"is the probability of dropping a unit, in [0, 1); got {self.dropout!r}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise bad("seed", f"must be a non-negative whole number, got {self.seed!r}")
        if not isinstance(self.validation_size, int) or self.validation_size < 1:
            raise bad("validation_size", f"must be a positive whole number, got {self.validation_size!r}")
        if self.schedule not in SCHEDULE_NAMES:
            raise bad("schedule", f"unknown schedule {self.schedule!r}; choose one of: {', '.join(SCHEDULE_NAMES)}")
        if self.precision not in PRECISIONS:
            raise bad("precision", f"unknown precision {self.precision!r}; choose one of: {', '.join(PRECISIONS)}")
        self._validate_device()
        if self.resume and self.overwrite:
            raise UsageError("--resume and --overwrite contradict each other; pass one of them")
        return self

    def _validate_device(self) -> None:
        import torch

        device = self.device
        if device == "cpu":
            return
        if device == "cuda" or device.startswith("cuda:"):
            if not torch.cuda.is_available():
                raise UsageError(f"--device: {device!r} asked for but no CUDA GPU is available; use --device cpu")
            index = device.partition(":")[2]
            if index and (not index.isdigit() or int(index) >= torch.cuda.device_count()):
                raise UsageError(f"--device: no GPU {device!r}; {torch.cuda.device_count()} available")
            return
        raise UsageError(f"--device: unknown device {device!r}; use cpu or cuda (cuda:N)")

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
