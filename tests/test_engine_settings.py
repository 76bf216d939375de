"""No engine ignores a setting: every setting that shapes a run's numbers changes them, in each engine.

The settings are those :class:`TrainConfig` declares with ``shapes="trajectory"`` (read from the
dataclass, not listed here); their other values come from their registries (every name but ``auto``,
whose meaning depends on the machine) or, for numbers, from the value's type. For each engine and
each other value, a short run either follows a different loss trajectory than the base run, or is
refused before it starts with one line naming the flag and the value.
"""

from __future__ import annotations

import dataclasses
import gzip
import math
import typing

import numpy as np
import pytest

from backproplab.datasets import mnist
from backproplab.datasets.idx import to_idx_bytes
from backproplab.errors import TrainingDiverged, UsageError
from backproplab.mnist_net.choices import ENGINES
from backproplab.mnist_net.config import TrainConfig
from backproplab.mnist_net.contract import LEARNING_RATE_TAG, learning_rate_at, schedule_factor
from backproplab.mnist_net.run import train
from backproplab.monitoring import read_scalars
from backproplab.settings import fields_shaping, flag_of, settings_of

SHAPING = fields_shaping(TrainConfig, "trajectory")
FIELDS = {field.name: (field, meta) for field, meta in settings_of(TrainConfig)}
#: Five steps, of which the first four are taken (see :func:`losses`): a schedule's factor differs from
#: 1 from the second update on (cosine) or the third (step). No evaluation, one summary (step 0).
BASE = {"steps": 5, "batch_size": 4, "eval_every": 100, "monitor_every": 100, "validation_size": 10, "threads": 1}
BASE |= {"precision": "fp32", "on_divergence": "warn"}
TAKEN = 4


def alternatives(name: str, base: TrainConfig) -> list[object]:
    """Other values of setting ``name`` than ``base`` has: every registered name but ``auto``, in
    registry order; for a number, another of its type; for the learning rate, twice the one in effect."""
    field, meta = FIELDS[name]
    value = getattr(base, name)
    if meta.choices is not None:
        return [choice for choice in meta.choices.names() if choice not in (value, "auto")]
    if name == "lr":
        return [2 * base.learning_rate]
    kind = next(a for a in typing.get_args(typing.get_type_hints(TrainConfig)[name]) or (type(value),))
    if kind is int:
        return [value + 1]
    if kind is float:
        return [value / 2]
    raise AssertionError(f"no other value for the setting {name} ({field.type}): teach this test one")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """A small MNIST-layout set on disk, so that the run loads it itself (validation_size applies there)."""
    rng = np.random.default_rng(0)
    folder = tmp_path_factory.mktemp("mnist")
    arrays = {
        "train_images": rng.integers(0, 256, (40, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, 40, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (8, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, 8, dtype=np.uint8),
    }
    for role, array in arrays.items():
        (folder / f"{mnist.FILES[role]}.gz").write_bytes(gzip.compress(to_idx_bytes(array)))
    return folder


def _accept_own_files(monkeypatch: pytest.MonkeyPatch) -> None:
    # Our IDX files are not the published ones: read them without the SHA-256 check.
    real_load = mnist.load
    monkeypatch.setattr(mnist, "load", lambda *a, **k: real_load(*a, **k, verify_checksums=False, download=False))


@pytest.fixture(autouse=True)
def _own_files_accepted(monkeypatch):
    _accept_own_files(monkeypatch)


def losses(config: TrainConfig) -> list[float]:
    """The losses of the first :data:`TAKEN` steps of a run of ``config`` (fewer if one is not finite).
    The run is stopped there as Ctrl-C stops it, before its last step's evaluation and checkpoint:
    what is compared is the trajectory, and the 40 MB checkpoint would cost more than the steps."""
    seen: list[float] = []

    def record(step: int, loss: float) -> None:
        seen.append(loss)
        if len(seen) == TAKEN:
            raise KeyboardInterrupt

    try:
        train(config, progress=False, callback=record)
    except (TrainingDiverged, KeyboardInterrupt):
        pass
    return seen


@pytest.fixture(scope="module")
def references(tmp_path_factory, data_dir) -> dict[str, list[float]]:
    """The base run's losses, by engine (computed once)."""
    found = {}
    for engine in ENGINES.names():
        out = tmp_path_factory.mktemp("base") / engine
        with pytest.MonkeyPatch.context() as monkeypatch:
            _accept_own_files(monkeypatch)
            found[engine] = losses(TrainConfig(**BASE, engine=engine, data_dir=str(data_dir), out=str(out)))
        assert len(found[engine]) == TAKEN and all(math.isfinite(v) for v in found[engine])
    return found


@pytest.mark.parametrize("engine", ENGINES.names())
@pytest.mark.parametrize("name", SHAPING)
def test_every_setting_that_shapes_a_run_changes_its_losses(tmp_path, data_dir, references, engine, name) -> None:
    base = TrainConfig(**BASE, engine=engine, data_dir=str(data_dir), out=str(tmp_path / "base"))
    reference = references[engine]
    others = alternatives(name, base)
    assert others, f"no other value of {name} to try"
    # Values are tried in order up to the first the engine has (a run costs seconds): each one before
    # it must be refused in one line, and that one must change the losses.
    for i, value in enumerate(others):
        config = dataclasses.replace(base, **{name: value}, out=str(tmp_path / f"other{i}"))
        try:
            changed = losses(config)
        except UsageError as refused:
            message = str(refused)
            assert "\n" not in message and message.startswith(f"{flag_of(FIELDS[name][0])} {value}"), message
            assert not (tmp_path / f"other{i}").exists()
            continue
        same = f"{name}={value!r} gives the losses of {name}={getattr(base, name)!r}"
        assert changed != reference, f"{engine} engine: {same}"
        break


@pytest.mark.parametrize("engine", ENGINES.names())
@pytest.mark.parametrize("schedule", ["cosine", "step"])
def test_the_learning_rate_read_back_from_a_run_is_the_schedules(tmp_path, data_dir, engine, schedule) -> None:
    config = TrainConfig(**{**BASE, "steps": 8, "monitor_every": 1}, engine=engine, schedule=schedule)
    config = dataclasses.replace(config, data_dir=str(data_dir), out=str(tmp_path / "run"), lr=0.01)
    train(config, progress=False)
    logged = read_scalars(tmp_path / "run")[LEARNING_RATE_TAG]
    assert [step for step, _ in logged] == list(range(8))
    expected = [learning_rate_at(config, step) for step in range(8)]
    # float32 event values: the formula's rates rounded to float32
    assert [rate for _, rate in logged] == [float(np.float32(rate)) for rate in expected]
    assert expected[0] == 0.01 and min(expected) < 0.002


def test_the_step_schedule_drops_tenfold_at_half_and_at_three_quarters_rounded_down() -> None:
    """Step by step for 11 steps (halves and quarters that are not whole): 1 for steps 0-4, 0.1 from
    11 // 2 = 5, 0.01 from 3 * 11 // 4 = 8; cosine from 1 down to its value at step 10 of 11."""
    assert [schedule_factor("step", s, 11) for s in range(11)] == pytest.approx([1.0] * 5 + [0.1] * 3 + [0.01] * 3)
    cosine = [schedule_factor("cosine", s, 11) for s in range(11)]
    assert cosine == pytest.approx([(1 + math.cos(math.pi * s / 11)) / 2 for s in range(11)], rel=1e-15)
    assert schedule_factor("constant", 10, 11) == 1.0
