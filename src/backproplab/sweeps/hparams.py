"""TensorBoard HParams records of a sweep, written with ``summary_v2`` (no TensorFlow).

- One Experiment in the sweep's root folder (:func:`write_experiment`): the factors as hparams
  (names as discrete domains listing the registries) and the metrics below.
- In every finished run folder (:func:`write_session`): session start (its hparams, the group id
  that leaves out the seed), its final metrics under tags of their own, and session end (status).

The records go to an event file of their own (suffix ``.hparams``), replaced on each write, so a
re-run never leaves two session starts in one run.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2
from tensorboard.plugins.hparams import summary_v2 as hp
from tensorboard.summary.writer.event_file_writer import EventFileWriter

from backproplab.sweeps.spec import FACTORS

SUFFIX = ".hparams"
#: Final metrics: tag -> display name. Each is written once, at the run's last step.
FINAL_METRICS = {
    "hparams/final_validation_error": "final validation error",
    "hparams/final_test_error": "final test error",
    "hparams/best_validation_error": "best validation error",
    "hparams/wall_seconds": "wall seconds",
}
CURVE_METRIC = ("eval/validation_error", "validation error (per evaluation)")
#: metrics.json status -> HParams session status.
_STATUS = {"completed": api_pb2.STATUS_SUCCESS}


def _hparams() -> list[hp.HParam]:
    out = []
    for name, names in FACTORS.items():
        if names is not None:
            out.append(hp.HParam(name, hp.Discrete(list(names))))
        elif name == "lr":
            out.append(hp.HParam(name, hp.RealInterval(1e-9, 1e4)))
        else:
            out.append(hp.HParam(name, hp.IntInterval(0, 2**31 - 1)))
    out.append(hp.HParam("steps", hp.IntInterval(1, 2**31 - 1)))
    return out


def _write(folder: Path, summaries: list[tuple[summary_pb2.Summary, int]]) -> None:
    for old in folder.glob(f"events.out.tfevents.*{SUFFIX}"):
        old.unlink()
    writer = EventFileWriter(str(folder), filename_suffix=SUFFIX)
    for summary, step in summaries:
        writer.add_event(event_pb2.Event(wall_time=time.time(), step=step, summary=summary))
    writer.close()


def write_experiment(root: Path) -> None:
    """The sweep's single Experiment record, in ``root``."""
    metrics = [hp.Metric(tag, display_name=name) for tag, name in FINAL_METRICS.items()]
    metrics.append(hp.Metric(CURVE_METRIC[0], display_name=CURVE_METRIC[1]))
    _write(Path(root), [(hp.hparams_config_pb(_hparams(), metrics), 0)])


def session_values(config: dict[str, Any]) -> dict[str, Any]:
    """A run's hparam values from its ``config.json`` dict: the same keys for every run, no None."""
    return {
        "activation": config["activation"],
        "init": config["init"],
        "optimizer": config["optimizer"],
        "lr": float(config["learning_rate"]),
        "schedule": config.get("schedule", "constant"),
        "seed": int(config["seed"]),
        "steps": int(config["steps"]),
    }


def _session_end(status: int) -> summary_pb2.Summary:
    info = plugin_data_pb2.SessionEndInfo(status=status, end_time_secs=time.time())
    summary = summary_pb2.Summary()
    summary.value.add(
        tag=metadata.SESSION_END_INFO_TAG,
        metadata=metadata.create_summary_metadata(plugin_data_pb2.HParamsPluginData(session_end_info=info)),
        tensor=metadata.NULL_TENSOR,
    )
    return summary


def write_session(folder: Path, row: dict[str, Any], config: dict[str, Any], group: str) -> None:
    """Session start, final metrics (from the sweep table ``row``) and session end in ``folder``."""
    step = int(row.get("steps_done") or 0)
    start = hp.hparams_pb(session_values(config), trial_id=group)
    finals = summary_pb2.Summary()
    for tag, key in zip(
        FINAL_METRICS, ("validation_error", "test_error", "best_validation_error", "wall_seconds"), strict=True
    ):
        value = row.get(key)
        if value is not None and not (isinstance(value, float) and math.isnan(value)):
            finals.value.add(tag=tag, simple_value=float(value))
    status = _STATUS.get(row.get("status", ""), api_pb2.STATUS_FAILURE)
    _write(Path(folder), [(start, 0), (finals, step), (_session_end(status), step)])
