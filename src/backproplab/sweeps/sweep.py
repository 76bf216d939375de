"""Run a sweep end to end: check, plan, train what is missing, rebuild tables, figures and HParams.

    result = run_sweep(SweepSpec(preset="course", base={"steps": 5500}), out="runs/sweeps/course")

The sweep folder holds ``sweep_config.json`` (the spec and the runs it lists), the HParams
Experiment, ``sweep.csv``, ``sweep.json``, the figures, and one folder per run
(:func:`backproplab.sweeps.spec.run_folder`). Everything but ``sweep_config.json`` is rebuilt from
the run folders on every call, so a finished sweep called again trains nothing and only redraws.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backproplab import hardware, limits, outputs, runs
from backproplab.errors import UsageError
from backproplab.io import write_json
from backproplab.mnist_net.config import TrainConfig
from backproplab.sweeps import figures, hparams, state, table
from backproplab.sweeps.runner import SweepProgress, run_dask, run_local
from backproplab.sweeps.spec import (
    KIND,
    LR_MAX_EXTENSIONS,
    MNIST,
    SweepSpec,
    extend_lr,
    first_stage,
    group_key,
    lr_grid,
    lr_optimizers,
    lr_search_config,
    place,
)

SWEEP_CONFIG = "sweep_config.json"


@dataclass(frozen=True)
class Machine:
    """Where runs train: ``jobs`` local workers of ``threads`` threads, or a Dask ``scheduler``."""

    jobs: int
    threads: int
    devices: tuple[str, ...] = ()
    scheduler: str | None = None


def choose_machine(
    jobs: int | None,
    threads: int | None,
    device: str = "cpu",
    scheduler: str | None = None,
    warn: Callable[[str], None] = print,
) -> Machine:
    """Default on a CPU: one single-thread worker per core (two 1-thread processes train 1.19x the steps
    of one 2-thread process on a 2-core AVX2 EPYC: ``benchmarks/bench_sweep.py``); on CUDA: one worker
    per GPU. Threads not given: the cores shared out among the workers
    (:func:`backproplab.hardware.threads_per_worker`)."""
    for flag, value in (("jobs", jobs), ("threads-per-job", threads)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
            raise UsageError(f"--{flag}: must be a positive whole number, got {value!r}")
    if scheduler is None:  # the cap of `dcn --threads`: this machine's cores (a cluster's are its own)
        limits.check_threads(threads, "--threads-per-job")
    cores = hardware.usable_cores()
    devices: tuple[str, ...] = ()
    if device.startswith("cuda"):
        import torch

        gpus = torch.cuda.device_count() if device == "cuda" else 1
        devices = tuple(f"cuda:{i}" for i in range(gpus)) if device == "cuda" else (device,)
        jobs = jobs or len(devices)
    elif jobs is None:
        jobs = max(1, cores // (threads or 1))
    threads = threads or hardware.threads_per_worker(jobs, cores)
    if scheduler is None and jobs * threads > cores:
        warn(
            f"warning: {jobs} workers x {threads} threads = {jobs * threads} threads on {cores} cores; "
            "they will slow each other down (lower --jobs or --threads-per-job)"
        )
    return Machine(jobs, threads, devices, scheduler)


def check_out(out: Path, spec: SweepSpec, force: bool) -> None:
    """Refuse an ``out`` that holds another sweep, or other files, unless ``force``."""
    saved = read_sweep_config(out)
    if saved is not None:
        if saved.get("spec") != json.loads(json.dumps(spec.identity())) and not force:
            raise UsageError(
                f"--out {out} holds a different sweep ({saved.get('spec', {}).get('name')!r}); choose another --out "
                "or pass --force to replace its record (its runs are kept and reused where settings match)"
            )
    elif not force:
        outputs.check_writable(out, "sweep", "sweep (or pass --force)")


def read_sweep_config(out: Path) -> dict[str, Any] | None:
    path = Path(out) / SWEEP_CONFIG
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise UsageError(f"{path} is damaged ({exc}); remove it or choose another --out") from None


def check_data(spec: SweepSpec, progress: bool) -> None:
    """Fail before any worker starts when MNIST is missing (downloading it when allowed)."""
    if spec.data == MNIST:
        from backproplab.datasets import mnist

        mnist.fetch(spec.base.get("data_dir"), progress=progress)


class _Sweep:
    """One call of a sweep: the runs it lists so far and how it trains them."""

    def __init__(self, spec: SweepSpec, out: Path, machine: Machine, retry_failed: bool, progress: bool, say) -> None:
        self.spec, self.out, self.machine = spec, out, machine
        self.retry_failed, self.progress, self.say = retry_failed, progress, say
        self.runs: dict[str, dict[str, Any]] = {}
        self.outcomes: dict[str, dict[str, Any]] = {}  # run name -> what its worker reported in this call
        self.trained = 0

    def add(self, configs: list[TrainConfig]) -> list[TrainConfig]:
        placed = [place(self.spec, self.out, c) for c in configs]
        for config in placed:
            self.runs.setdefault(config.name, config.to_dict())
        write_json(
            self.out / SWEEP_CONFIG,
            {"spec": self.spec.identity(), "runs": [{"run": n, "config": c} for n, c in self.runs.items()]},
        )
        return placed

    def task(self, config: TrainConfig) -> dict[str, Any]:
        return {
            "config": config.to_dict(),
            "data": self.spec.data,
            "data_dir": config.data_dir,
            "validation_size": config.validation_size,
            "retry_failed": self.retry_failed,
            "threads": self.machine.threads,
        }

    def train(self, configs: list[TrainConfig]) -> None:
        """Train every run of ``configs`` that its folder does not already settle."""
        placed = self.add(configs)
        todo = [c for c in placed if state.decide(Path(c.out), c.steps, self.retry_failed) != state.SKIP]
        if len(todo) < len(placed):
            self.say(f"{len(placed) - len(todo)} of {len(placed)} runs already done; skipped")
        if not todo:
            return
        steps = sum(c.steps - _steps_done(Path(c.out)) for c in todo)
        bar = SweepProgress(len(todo), steps, self.progress, self.say)
        tasks = [self.task(c) for c in todo]
        results: list[dict[str, Any]] = []
        try:
            if self.machine.scheduler:
                results = run_dask(self.machine.scheduler, tasks, bar)
            else:
                source = (self.spec.data, todo[0].data_dir, todo[0].validation_size)
                results = run_local(tasks, self.machine.jobs, self.machine.threads, source, bar, self.machine.devices)
        finally:
            bar.close()
            self.outcomes.update({Path(r["folder"]).name: r for r in results})
        self.trained += len(todo)


def _steps_done(folder: Path) -> int:
    metrics = state.numbers(state.read_metrics(folder))
    return int(metrics.get("steps_done") or 0) if metrics.get("status") == "interrupted" else 0


def _score(folder: Path) -> float:
    metrics = state.numbers(state.read_metrics(folder))
    value = metrics.get("validation_error")
    ok = metrics.get("status") == "completed" and isinstance(value, int | float) and math.isfinite(value)
    return float(value) if ok else math.inf


def _lr_preset(sweep: _Sweep) -> None:
    """Search each optimizer's rate on the short budget (extending at an edge), then train the best."""
    spec = sweep.spec
    seeds = spec.seeds or [spec.base_config().seed]
    rates = {name: lr_grid(TrainConfig(optimizer=name).learning_rate) for name in lr_optimizers(spec)}

    def search(name: str, lr: float) -> TrainConfig:
        return lr_search_config(spec, name, lr, seeds[0])

    sweep.train([search(n, lr) for n, lrs in rates.items() for lr in lrs])
    best: dict[str, float] = {}
    for _ in range(LR_MAX_EXTENSIONS + 1):
        extra = []
        for name, lrs in rates.items():
            scores = {lr: _score(Path(place(spec, sweep.out, search(name, lr)).out)) for lr in lrs}
            best[name] = min(lrs, key=lambda lr, s=scores: (s[lr], lr))
            nxt = extend_lr(lrs, best[name]) if math.isfinite(scores[best[name]]) else None
            if nxt is not None and len(lrs) < len(lr_grid(1.0)) + LR_MAX_EXTENSIONS:
                lrs.append(nxt)
                extra.append(search(name, nxt))
        if not extra:
            break
        sweep.train(extra)
    base = lr_search_config(spec, "adam", 1.0, 0)
    sweep.train(
        [
            spec.base_config(
                activation=base.activation, init=base.init, schedule=base.schedule, optimizer=n, lr=lr, seed=s
            )
            for n, lr in best.items()
            for s in seeds
        ]
    )


def rebuild(out: Path, outcomes: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Tables, figures and HParams sessions of the sweep in ``out``, from its run folders. ``outcomes``:
    run name -> its worker's result in this call; a run that failed without a record in its folder
    (a full disk, a read-only folder) is listed as failed with the worker's reason, not as new."""
    out = Path(out)
    saved = read_sweep_config(out)
    if saved is None:
        raise UsageError(f"{out} holds no sweep ({SWEEP_CONFIG} is missing)")
    rows = []
    for entry in saved["runs"]:
        folder = out / entry["run"]
        row = table.row_for(folder, entry["config"])
        outcome = (outcomes or {}).get(entry["run"], {})
        if outcome.get("status") == "failed" and row["status"] in ("new", "interrupted"):
            row["status"], row["error"] = "failed", outcome.get("error")
        rows.append(row)
        _write_session(folder, row, entry["config"], saved["spec"].get("data", MNIST))
    rows = table.with_setting_spread(rows)
    extra: dict[str, Any] = {"name": saved["spec"]["name"], "preset": saved["spec"]["preset"], "spec": saved["spec"]}
    longest = max((r["steps"] for r in rows), default=0)
    search = lr_search_results([r for r in rows if r["steps"] < longest])
    if search:
        extra["lr_search"] = search
        extra["lr_search_note"] = (
            "optimizers compared at the learning rate each scored best on validation error after the short budget"
        )
        figures.lr_search_figure(out / "lr_search.png", search)  # one small figure: always redrawn
    full = [r for r in rows if r["steps"] == longest and r["status"] == "completed"]
    if full:
        best = min(full, key=lambda r: r["validation_error"])
        extra["best"] = {"chosen_on": "validation error", **best}
    # Figures take most of a rebuild: redraw them only when a row changed or a figure is missing.
    before = _previous_table(out)
    unchanged = (
        "figures" in before
        and before.get("runs") == json.loads(json.dumps(rows))
        and all((out / name).is_file() for name in before["figures"])
    )
    extra["figures"] = before["figures"] if unchanged else [p.name for p in figures.draw_all(out, rows)]
    table.write_tables(out, rows, extra)
    return rows


def _previous_table(out: Path) -> dict[str, Any]:
    try:
        return json.loads((out / "sweep.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def lr_search_results(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """optimizer -> {"rates": {lr: validation error or None}, "best": lr} from the short-budget rows."""
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = out.setdefault(row["optimizer"], {"rates": {}})
        ok = row["status"] == "completed" and row["validation_error"] is not None
        entry["rates"][f"{row['lr']:g}"] = row["validation_error"] if ok else None
    for entry in out.values():
        scored = {lr: e for lr, e in entry["rates"].items() if e is not None}
        entry["best"] = float(min(scored, key=scored.get)) if scored else None
    return out


def _write_session(folder: Path, row: dict[str, Any], config: dict[str, Any], data: str) -> None:
    """The run's HParams session, when it has finished and its record is older than its metrics."""
    metrics = folder / state.METRICS
    if row["status"] not in ("completed", "diverged", "failed") or not metrics.is_file():
        return
    records = list(folder.glob(f"events.out.tfevents.*{hparams.SUFFIX}"))
    if records and min(p.stat().st_mtime for p in records) >= metrics.stat().st_mtime:
        return
    hparams.write_session(folder, row, config, group_key(TrainConfig.from_dict(config), data))


def plan(spec: SweepSpec, out: Path, retry_failed: bool = False) -> list[tuple[TrainConfig, str]]:
    """The runs known before training, each with what its folder says to do (see :mod:`.state`)."""
    return [
        (c, state.decide(Path(c.out), c.steps, retry_failed))
        for c in (place(spec, out, config) for config in first_stage(spec))
    ]


def run_sweep(
    spec: SweepSpec,
    out: str | os.PathLike[str] | None = None,
    *,
    jobs: int | None = None,
    threads_per_job: int | None = None,
    scheduler: str | None = None,
    dry_run: bool = False,
    retry_failed: bool = False,
    force: bool = False,
    progress: bool = True,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run (or with ``dry_run`` only list) the sweep; returns {"out", "rows", "trained", "planned"}."""
    spec.validate()
    out = runs.run_folder(KIND, spec.name, out)
    base = spec.base_config()
    machine = choose_machine(jobs, threads_per_job, base.device, scheduler, warn=say)
    check_out(out, spec, force)
    planned = plan(spec, out, retry_failed)
    if dry_run:
        return {"out": out, "rows": [], "trained": 0, "planned": planned, "machine": machine}
    if spec.preset == "lr" or any(action != state.SKIP for _, action in planned):
        check_data(spec, progress)
    out.mkdir(parents=True, exist_ok=True)
    outputs.mark(out, "sweep")  # a sweep stopped before its first record is still known as one
    hparams.write_experiment(out)
    sweep = _Sweep(spec, out, machine, retry_failed, progress, say)
    began = time.perf_counter()
    rows: list[dict[str, Any]] = []
    try:
        if spec.preset == "lr":
            _lr_preset(sweep)
        else:
            sweep.train([c for c, _ in planned])
    finally:
        if sweep.runs:
            rows = rebuild(out, sweep.outcomes)
    return {
        "out": out,
        "rows": rows,
        "trained": sweep.trained,
        "planned": planned,
        "machine": machine,
        "seconds": time.perf_counter() - began,
    }


def estimate_seconds_per_step(base: TrainConfig, threads: int, steps: int = 3) -> float:
    """Seconds per training step of ``base``'s network on ``threads`` threads, timed on random
    data (a rough guide: evaluations and monitoring add to it)."""
    import torch

    from backproplab.dcn.model import DCN
    from backproplab.dcn.optim import make_optimizer
    from backproplab.dcn.training import forward_backward, make_autocast

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        device = torch.device(base.device)
        model = DCN(base.activation, base.init, base.dropout).to(device, memory_format=torch.channels_last)
        optimizer = make_optimizer(base.optimizer, model.parameters(), base.lr)
        x = torch.rand(base.batch_size, 1, 28, 28, device=device)
        y = torch.randint(0, 10, (base.batch_size,), device=device)
        autocast = make_autocast(device, base.precision)
        forward_backward(model, optimizer, x, y, autocast)
        optimizer.step()
        began = time.perf_counter()
        for _ in range(steps):
            forward_backward(model, optimizer, x, y, autocast)
            optimizer.step()
        return (time.perf_counter() - began) / steps
    finally:
        torch.set_num_threads(before)
