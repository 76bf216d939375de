"""The run convention shared by both engines: one folder per run, claimed while the run uses it.

Layout of a run (``runs/<kind>/<name>/`` unless ``--out`` says otherwise; the kind is the command
that made it: ``dcn``, ``mlp``, ``sweeps``...)::

    .lock                  held with an exclusive flock by the process running it (never deleted:
                           the lock lives on the open file, so a crashed process releases it)
    config.json            every setting, written before training starts
    metrics.json           the same top-level keys for every engine (METRICS_KEYS), strict JSON
    events.out.tfevents.*  TensorBoard events (``backproplab tensorboard`` shows runs/ whole)
    ...                    the engine's own files (the DCN's checkpoint.pt, the MLP's figures)

``metrics.json``: ``engine`` (what computed it: ``torch`` or ``numpy``); ``status`` (completed,
diverged or interrupted); ``config`` (what config.json holds); ``final`` (the engine's final
measurements, ``steps_done`` and ``parameter_count`` in every run); ``curves`` (lists of equal
length, one entry per evaluation); ``wall_seconds``; ``steps_per_second`` (DCN optimizer steps, MLP
passes). Non-finite numbers are written as ``null``: every JSON file of a run is strict JSON.
"""

from __future__ import annotations

import errno
import fcntl
import math
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from backproplab import hints
from backproplab.errors import UsageError
from backproplab.io import write_json

#: Where every run lives by default (``runs/<kind>/...``): the one declaration of that root.
RUNS_DIR = Path("runs")
LOCK_NAME = ".lock"
METRICS_KEYS = ("engine", "status", "config", "final", "curves", "wall_seconds", "steps_per_second")
#: Files every run writes; ``.*.tmp*`` are the atomic writers' temporaries a killed process leaves.
STALE_TEMPORARIES = ".*.tmp*"
COMMON_FILES = ("config.json", "metrics.json", "events.out.tfevents.*", STALE_TEMPORARIES)


def check_name(name: str, flag: str = "--name") -> str:
    """``name`` if it is a single path component usable as a folder name, else a UsageError."""
    if (
        not name
        or name in (".", "..")
        or "/" in name
        or (os.sep != "/" and os.sep in name)
        or "\0" in name
        or name.startswith(".")
    ):
        raise UsageError(
            f"{flag}: {name!r} is not a name; use one folder name without '/' or a leading '.' "
            "(e.g. relu-adam-seed0), or --out DIR for another place"
        )
    return name


def confined(root: str | os.PathLike[str], name: str, flag: str = "--name") -> Path:
    """``root/name``, the one way a user's name becomes a folder: ``name`` must be one folder name
    (:func:`check_name`), so that the folder is always inside ``root``."""
    return Path(root) / check_name(name, flag)


def default_root(kind: str) -> Path:
    """``runs/<kind>``: where the runs of a kind (a command: dcn, mlp, sweeps, report...) go by default."""
    return RUNS_DIR / kind


def run_folder(kind: str, name: str, out: str | os.PathLike[str] | None = None) -> Path:
    """``out`` when given, else ``runs/<kind>/<name>`` (``name`` checked by :func:`check_name`)."""
    if out is not None:
        return Path(out)
    return confined(default_root(kind), name)


def command_hint(command: str, folder: Path, *flags: str) -> str:
    """The command to run the run in ``folder`` again with ``flags``, quoted, with the user's own
    settings (:func:`backproplab.hints.again`): ``backproplab dcn --steps 60 --out 'my runs/a' --resume``."""
    return hints.again(command, folder, *flags)


# ----------------------------------------------------------------------------- claiming a folder


def _holder(lock_path: Path) -> str:
    try:
        pid = lock_path.read_text(encoding="ascii").strip()
    except OSError:
        pid = ""
    return f"process {pid}" if pid.isdigit() else "another process"


@contextmanager
def claimed(folder: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold ``folder`` (created if needed) for this process for the duration of the block.

    A second claim, from any process, gets a one-line UsageError naming the holder's PID. The lock is
    an flock on ``folder/.lock``: the kernel drops it when the holder exits, however it exits.
    A folder this claim created is removed again if the block fails before writing anything into
    it (bad data, a batch larger than the data...), so a failed start leaves no trace.
    """
    path = Path(folder)
    created = not path.exists()
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd = os.open(path / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise UsageError(f"cannot use {path} as a run folder: {exc.strerror or exc}; choose another --out") from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            raise UsageError(
                f"{path} is in use by {_holder(path / LOCK_NAME)}, which is running a run there; "
                "wait for it to finish, stop it, or choose another --out or --name"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        _remove_stale_temporaries(path)
        try:
            yield path
        except BaseException:
            if created and [p.name for p in path.iterdir()] == [LOCK_NAME]:
                (path / LOCK_NAME).unlink()
                path.rmdir()
            raise
    finally:
        os.close(fd)  # releases the flock


def _remove_stale_temporaries(folder: Path) -> None:
    """Delete what the atomic writers of a killed process left (``.checkpoint.*.tmp.pt``, tens of MB):
    only the holder of the folder's lock writes there, so no temporary in it is still being written."""
    for stale in folder.glob(STALE_TEMPORARIES):
        if stale.is_file() and not stale.is_symlink():
            stale.unlink(missing_ok=True)


def run_files(folder: Path, patterns: Iterable[str] = ()) -> list[Path]:
    """The files of a run present in ``folder``: :data:`COMMON_FILES` and the engine's ``patterns``."""
    found = {p for pattern in (*COMMON_FILES, *patterns) for p in folder.glob(pattern) if p.name != LOCK_NAME}
    return sorted(p for p in found if p.is_file() or p.is_symlink())


def clear(files: Iterable[Path]) -> None:
    """Delete ``files`` (a run's files found by :func:`run_files`, stale temporaries included)."""
    for path in files:
        path.unlink(missing_ok=True)


def refuse_or_clear(
    folder: Path, command: str, *, overwrite: bool, patterns: Sequence[str] = (), resumable: bool = False
) -> None:
    """Make ``folder`` ready for a new run: refuse it if it holds one, unless ``overwrite`` (then clear
    every file a run writes). ``resumable``: the folder holds a checkpoint, so --resume is offered."""
    existing = run_files(folder, patterns)
    if not existing:
        return
    if overwrite:
        clear(existing)
        return
    if resumable:
        advice = f"continue it with: {command_hint(command, folder, '--resume')}; or start it again with --overwrite"
    else:
        advice = f"start it again with: {command_hint(command, folder, '--overwrite')}"
    raise UsageError(f"{folder} already holds a run; {advice}; or choose another --out or --name")


def record_failure(folder: Path, engine: str, config: dict[str, Any], error: str, steps_done: int = 0) -> bool:
    """Write ``metrics.json`` (``engine``: torch or numpy) with status failed and ``error`` in the run
    convention's layout, with the folder claimed; False (nothing written) when another process holds
    the folder. OSError passes."""
    record = metrics_record(engine, "failed", config, {"steps_done": steps_done, "error": error}, {}, 0.0, None)
    try:
        with claimed(folder):
            write_strict_json(Path(folder) / "metrics.json", record)
    except UsageError:
        return False
    return True


#: What a write can fail with that no setting of ours causes: the disk, the folder, the quota.
WRITE_ERRORS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG, errno.EIO, errno.EACCES, errno.EPERM})


def failed_to_write(folder: Path, engine: str, config: dict[str, Any], exc: OSError, command: str) -> UsageError:
    """The one error path of a run stopped by ``exc`` (a full disk, a read-only folder, permissions):
    write what can still be written (``metrics.json``, status failed, with the reason) and return
    the one-line error that says what happened and how to go on."""
    what = exc.strerror or str(exc)
    where = f" ({exc.filename})" if exc.filename else ""
    try:
        record_failure(folder, engine, config, f"{what}{where}")
    except OSError:
        pass  # the disk takes nothing more: the message still says what happened
    flag = "--resume" if any(Path(folder).glob("checkpoint.*")) else "--overwrite"
    return UsageError(
        f"cannot write the run in {folder}: {what}{where}; free space or fix the folder, then run: "
        f"{command_hint(command, folder, flag)}"
    )


#: Settings compared on resume by the value in effect, recorded under another name in config.json.
EFFECTIVE = {"lr": "learning_rate"}


def check_resumable(out: Path, saved: dict[str, Any], step: int, config: Any, fields: Sequence[str]) -> None:
    """Refuse to resume the run in ``out`` (its checkpoint at ``step``, written with the settings ``saved``)
    when ``config`` changes any of the trajectory ``fields``, or asks for fewer steps than it has done."""
    check_unchanged(out, saved, config, fields)
    if step > config.steps:
        raise UsageError(f"{out} is already at step {step}, beyond --steps {config.steps}")


def check_unchanged(out: Path, saved: dict[str, Any], config: Any, fields: Sequence[str]) -> None:
    """Refuse to resume the run in ``out`` (written with the settings ``saved``) when ``config`` changes
    any of ``fields`` (compared by the value in effect, :data:`EFFECTIVE`)."""

    def values(field: str) -> tuple[Any, Any]:
        # a setting whose default depends on another (lr None: the optimizer's default) is compared by
        # the value in effect, recorded beside it: lr None and the default written out are one run
        effective = EFFECTIVE.get(field)
        if effective and effective in saved and hasattr(config, effective):
            return saved[effective], getattr(config, effective)
        return saved.get(field), getattr(config, field)

    changed = [f for f in fields if values(f)[0] != values(f)[1]]
    if changed:
        diffs = ", ".join(f"{f} {values(f)[0]!r} -> {values(f)[1]!r}" for f in changed)
        raise UsageError(f"cannot resume {out} with different settings ({diffs}); keep them as they were")


class DamagedCheckpoint(UsageError):
    """A checkpoint that cannot be used. ``path`` and ``why`` let a caller with another way out (a
    sweep: ``--retry-failed``) say it in its own words."""

    def __init__(self, path: Path, why: str, advice: str = "start the run again with --overwrite") -> None:
        super().__init__(f"checkpoint {path} {why}; {advice}")
        self.path, self.why = path, why


def damaged_checkpoint(path: Path, why: str) -> DamagedCheckpoint:
    """The one-line error for a checkpoint that cannot be used, with the way out."""
    return DamagedCheckpoint(path, why)


def check_entries(path: Path, record: dict[str, Any], kinds: dict[str, type | tuple[type, ...]]) -> None:
    """Every key of ``kinds`` present in the checkpoint ``record`` read from ``path``, of its type (a bool
    never passes for a number)."""
    for key, kind in kinds.items():
        if key not in record:
            raise damaged_checkpoint(path, f"lacks its {key!r} entry")
        if not isinstance(record[key], kind) or isinstance(record[key], bool):
            raise damaged_checkpoint(path, f"has a damaged {key!r} entry")


#: The entries of every evaluation record (:func:`evaluation_record`), all numbers.
EVALUATION_KEYS = (
    "step", "epoch", "train_loss", "validation_error", "test_error", "validation_accuracy", "test_accuracy",
)  # fmt: skip


def check_run_state(path: Path, record: dict[str, Any]) -> None:
    """The entries of a checkpoint ``record`` below its top level, for both engines: ``history`` a list
    of evaluation records (numbers, a whole step from 0), ``watch`` (where present) a divergence
    watch's state. A damaged one is a :class:`DamagedCheckpoint` before anything reads it."""
    from backproplab.divergence import check_state

    for entry in record["history"]:
        numbers = isinstance(entry, dict) and all(
            isinstance(entry.get(key), int | float) and not isinstance(entry.get(key), bool) for key in EVALUATION_KEYS
        )
        if not numbers or not isinstance(entry["step"], int) or entry["step"] < 0:
            raise damaged_checkpoint(path, "has a damaged 'history' entry (not an evaluation record)")
    if "watch" in record:
        try:
            check_state(record["watch"])
        except ValueError as exc:
            raise damaged_checkpoint(path, f"has a damaged 'watch' entry ({exc})") from None


# ----------------------------------------------------------------------------- metrics.json


def strict(obj: Any) -> Any:
    """``obj`` with every NaN or infinity replaced by None (and NumPy values by Python ones)."""
    if isinstance(obj, dict):
        return {key: strict(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return [strict(value) for value in obj]
    if isinstance(obj, np.ndarray):
        return strict(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_strict_json(path: Path, obj: Any) -> Path:
    """Write ``obj`` atomically as strict JSON (NaN and infinities as null)."""
    return write_json(path, strict(obj))


def metrics_record(
    engine: str,
    status: str,
    config: dict[str, Any],
    final: dict[str, Any],
    curves: dict[str, list[Any]],
    wall_seconds: float,
    steps_per_second: float | None,
) -> dict[str, Any]:
    """The contents of ``metrics.json``, with the keys in :data:`METRICS_KEYS` for every engine."""
    record = {
        "engine": engine,
        "status": status,
        "config": config,
        "final": final,
        "curves": curves,
        "wall_seconds": wall_seconds,
        "steps_per_second": steps_per_second,
    }
    assert tuple(record) == METRICS_KEYS
    return record


def evaluation_record(
    done: int, steps_per_epoch: float, recent_losses: list[float], validation_accuracy: float, test_accuracy: float
) -> dict[str, float]:
    """One entry of a run's ``curves`` (both engines): the step, the epoch, the mean training loss
    since the last evaluation (NaN when none), and validation/test error and accuracy."""
    return {
        "step": done,
        "epoch": done / steps_per_epoch,
        "train_loss": float(np.mean(recent_losses)) if recent_losses else math.nan,
        "validation_error": 1.0 - validation_accuracy,
        "test_error": 1.0 - test_accuracy,
        "validation_accuracy": validation_accuracy,
        "test_accuracy": test_accuracy,
    }
