"""What a sweep trains: its settings, the runs they expand to, and each run's folder (no torch here).

A run is a :class:`~backproplab.mnist_net.config.TrainConfig`. Its folder name is a readable name plus a
short hash of every setting that shapes its trajectory (``TRAJECTORY_FIELDS``, ``steps``, the
learning rate in effect and the data source), so two sweeps asking for the same run find the
same folder, and a changed setting never reuses a folder.

Presets:

- ``course``: one factor at a time from the course's run (relu, truncated_normal, adam at its
  default rate): every other activation, every other initialisation, every other optimizer at
  its default rate, and the course run once (7 + 7 + 8 - 2 = 20 runs per seed).
- ``lr``: per optimizer, :data:`LR_POINTS` rates a factor :data:`LR_FACTOR` apart centred on its
  default, each trained for ``lr_steps`` and scored on validation error; extended by one rate when
  the best is at an edge; then the best rate trained for the full ``steps``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backproplab import settings
from backproplab.errors import UsageError
from backproplab.mnist_net.choices import ACTIVATIONS, INITS, OPTIMIZERS, SCHEDULES
from backproplab.mnist_net.config import TRAJECTORY_FIELDS, TrainConfig
from backproplab.mnist_net.engine import engine_for
from backproplab.registry import UnknownName

PRESETS = ("course", "lr")
#: The factors a sweep varies, each with the registry of its valid names (None: numbers).
FACTORS: dict[str, Sequence[str] | None] = {
    "activation": tuple(ACTIVATIONS.names()),
    "init": tuple(INITS.names()),
    "optimizer": tuple(OPTIMIZERS.names()),
    "lr": None,
    "schedule": tuple(SCHEDULES.names()),
    "seed": None,
}
COURSE = {"activation": "relu", "init": "truncated_normal", "optimizer": "adam"}
LR_FACTOR = 3.0
LR_POINTS = 5
LR_MAX_EXTENSIONS = 3
#: A sweep's folder is ``runs/sweeps/<name>`` by default (:func:`backproplab.runs.run_folder`).
KIND = "sweeps"
#: The data source of real MNIST; tests pass ``"module:function"`` returning an ``mnist.Datasets``.
MNIST = "mnist"


@dataclass
class SweepSpec:
    """A sweep: the shared run settings (``base``) and the factor lists or a preset.

    Lists left empty take the base value (``lrs`` empty: each optimizer's default rate).
    ``data``: ``"mnist"`` or ``"module:function"`` called as ``function(data_dir, validation_size)``
    once per worker (small data for tests).
    """

    name: str = "sweep"
    preset: str | None = None
    activations: list[str] = field(default_factory=list)
    inits: list[str] = field(default_factory=list)
    optimizers: list[str] = field(default_factory=list)
    lrs: list[float] = field(default_factory=list)
    schedules: list[str] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)
    lr_steps: int = 500
    base: dict[str, Any] = field(default_factory=dict)
    data: str = MNIST

    def identity(self) -> dict[str, Any]:
        """What makes two sweeps the same sweep (the output folder may hold only one)."""
        out = dataclasses.asdict(self)
        out["base"] = {k: v for k, v in sorted(self.base.items()) if k in (*TRAJECTORY_FIELDS, "steps")}
        return out

    def base_config(self, **overrides: Any) -> TrainConfig:
        return TrainConfig(**{**self.base, **overrides})

    def validate(self) -> SweepSpec:
        """Raise :class:`UsageError` naming the first bad entry; return ``self``."""
        if self.preset is not None and self.preset not in PRESETS:
            raise UsageError(f"--preset: unknown preset {self.preset!r}; choose one of: {', '.join(PRESETS)}")
        for flag, registry in (
            ("activations", ACTIVATIONS),
            ("inits", INITS),
            ("optimizers", OPTIMIZERS),
            ("schedules", SCHEDULES),
        ):
            values = getattr(self, flag)
            try:  # the registered spelling: ReLU and relu, xavier and xavier_normal, are one run
                values[:] = [registry.canonical(value) for value in values]
            except UnknownName as exc:
                raise UnknownName(f"--{flag}: {exc}") from None
            _no_duplicates(flag, values)
        for value in self.lrs:
            if not (isinstance(value, int | float) and 0 < value < math.inf):
                raise UsageError(f"--lrs: learning rates must be positive numbers, got {value!r}")
        _no_duplicates("lrs", self.lrs)
        for value in self.seeds:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise UsageError(f"--seeds: seeds must be non-negative whole numbers, got {value!r}")
        _no_duplicates("seeds", self.seeds)
        if self.preset == "lr" and self.lrs:
            raise UsageError("--lrs: the lr preset chooses the rates itself; drop --lrs or the preset")
        if isinstance(self.lr_steps, bool) or not isinstance(self.lr_steps, int) or self.lr_steps <= 0:
            raise UsageError(f"--lr-steps: must be a positive whole number, got {self.lr_steps!r}")
        base = self.base_config()
        engine_for(base).check(base)  # what the engine has and this machine can run, before any run starts
        return self


def _no_duplicates(flag: str, values: Sequence[Any]) -> None:
    seen: set[Any] = set()
    for value in values:
        if value in seen:
            raise UsageError(f"--{flag}: {value!r} is listed twice; list each value once")
        seen.add(value)


def parse_list(flag: str, text: str, kind: type = str) -> list[Any]:
    """``"a,b,c"`` -> ``["a", "b", "c"]`` converted by ``kind`` (:func:`backproplab.settings.parse_list`)."""
    try:
        return settings.parse_list(text, kind)
    except settings.Invalid as exc:
        raise UsageError(f"--{flag}: {exc}") from None


# ----------------------------------------------------------------------------- runs


def trajectory_key(config: TrainConfig, data: str = MNIST) -> dict[str, Any]:
    """Every setting that shapes a run's trajectory or its record (hashed into its folder name). A setting left
    at None (its default: ``eval_images``) is left out, so a run's folder keeps the name it had before the
    setting existed."""
    key = {name: getattr(config, name) for name in TRAJECTORY_FIELDS if getattr(config, name) is not None}
    key["lr"] = config.learning_rate
    key["steps"] = config.steps
    if data != MNIST:
        key["data"] = data
    return key


def group_key(config: TrainConfig, data: str = MNIST) -> str:
    """The HParams group: the trajectory key without the seed (seeds of one setting form one row)."""
    key = trajectory_key(config, data)
    key.pop("seed")
    return _short_hash(key)


def _short_hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:8]


def run_folder(root: Path, config: TrainConfig, data: str = MNIST) -> Path:
    """The one place that decides where a run lives: ``root/<readable>-<hash>``, e.g.
    ``relu-truncated_normal-adam-lr0.0001-seed0-5500steps-1a2b3c4d`` (the precision is named only
    when it is not ``auto``)."""
    parts = [config.activation, config.init, config.optimizer, f"lr{config.learning_rate:g}"]
    if config.schedule != "constant":
        parts.append(config.schedule)
    if config.precision != "auto":  # auto (the default) is left out of names; the hash still holds it
        parts.append(config.precision)
    parts += [f"seed{config.seed}", f"{config.steps}steps", _short_hash(trajectory_key(config, data))]
    return Path(root) / "-".join(parts)


def place(spec: SweepSpec, root: Path, config: TrainConfig) -> TrainConfig:
    """``config`` with its folder and name set for this sweep."""
    out = run_folder(root, config, spec.data)
    return dataclasses.replace(config, out=str(out), name=out.name)


def _values(listed: Sequence[Any], default: Any) -> list[Any]:
    return list(listed) if listed else [default]


def grid_configs(spec: SweepSpec) -> list[TrainConfig]:
    """The full factorial of the listed values (an unlisted factor keeps its base value)."""
    base = spec.base_config()
    configs = []
    for activation in _values(spec.activations, base.activation):
        for init in _values(spec.inits, base.init):
            for optimizer in _values(spec.optimizers, base.optimizer):
                for lr in _values(spec.lrs, base.lr):
                    for schedule in _values(spec.schedules, base.schedule):
                        for seed in _values(spec.seeds, base.seed):
                            configs.append(
                                spec.base_config(
                                    activation=activation,
                                    init=init,
                                    optimizer=optimizer,
                                    lr=lr,
                                    schedule=schedule,
                                    seed=seed,
                                )
                            )
    return configs


def course_configs(spec: SweepSpec) -> list[TrainConfig]:
    """One factor at a time from the course's run, per seed (and schedule, when listed)."""
    base = spec.base_config()
    configs = []
    for schedule in _values(spec.schedules, base.schedule):
        for seed in _values(spec.seeds, base.seed):
            settings = [dict(COURSE)]
            for factor, names in (
                ("activation", spec.activations or tuple(ACTIVATIONS.names())),
                ("init", spec.inits or tuple(INITS.names())),
                ("optimizer", spec.optimizers or tuple(OPTIMIZERS.names())),
            ):
                settings += [{**COURSE, factor: name} for name in names if name != COURSE[factor]]
            configs += [spec.base_config(**s, lr=None, schedule=schedule, seed=seed) for s in settings]
    return configs


def lr_grid(default: float, points: int = LR_POINTS, factor: float = LR_FACTOR) -> list[float]:
    """``points`` rates a constant ``factor`` apart, centred on ``default`` (rounded to 3 digits)."""
    half = (points - 1) / 2
    return [float(f"{default * factor ** (k - half):.3g}") for k in range(points)]


def extend_lr(rates: Sequence[float], best: float, factor: float = LR_FACTOR) -> float | None:
    """The next rate to try when ``best`` is at an edge of ``rates`` (None: it is inside)."""
    ordered = sorted(rates)
    if best == ordered[0]:
        return float(f"{ordered[0] / factor:.3g}")
    if best == ordered[-1]:
        return float(f"{ordered[-1] * factor:.3g}")
    return None


def lr_search_config(spec: SweepSpec, optimizer: str, lr: float, seed: int) -> TrainConfig:
    """A short-budget run of the lr search (evaluated once or more within ``lr_steps``)."""
    base = spec.base_config()
    steps = min(spec.lr_steps, base.steps)
    return spec.base_config(
        activation=spec.activations[0] if spec.activations else COURSE["activation"],
        init=spec.inits[0] if spec.inits else COURSE["init"],
        optimizer=optimizer,
        lr=lr,
        seed=seed,
        steps=steps,
        eval_every=min(base.eval_every, steps),
        schedule=spec.schedules[0] if spec.schedules else base.schedule,
    )


def lr_optimizers(spec: SweepSpec) -> list[str]:
    return list(spec.optimizers or OPTIMIZERS.names())


def first_stage(spec: SweepSpec) -> list[TrainConfig]:
    """The runs known before any has trained: the whole sweep, or the lr preset's first search."""
    if spec.preset == "course":
        return course_configs(spec)
    if spec.preset == "lr":
        seed = _values(spec.seeds, spec.base_config().seed)[0]
        return [
            lr_search_config(spec, name, lr, seed)
            for name in lr_optimizers(spec)
            for lr in lr_grid(OPTIMIZERS[name].default_lr)
        ]
    return grid_configs(spec)
