"""The same network by hand: the DCN trained by the NumPy engine, and its agreement with PyTorch.

Two parts, one finished result:

- ``<result>/run``: an ordinary run of ``backproplab dcn --engine numpy`` with the DCN study's
  settings (:mod:`backproplab.experiments.dcn_study`: quick mode 40 steps on subsets, full mode the
  course's 5,500 steps), so its curves and speed sit beside the PyTorch run's.
- the agreement: from the same float64 weights (the DCN's initialisation), the same MNIST batches and
  the same dropout masks (the mask the DCN draws is handed to the NumPy net), the loss of every step
  of both engines under SGD and Adam. Arrays ``agreement/<optimizer>/numpy`` and ``.../torch``.

The result's metrics are the run's (as in the DCN study) plus ``agreement``: per optimizer the learning
rate, the steps, the batch size and the largest relative difference of the losses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from backproplab.experiments.dcn_study import dcn_settings, study_data
from backproplab.experiments.store import Arrays, Result, run_or_reuse

STUDY = "convnet"
RUN_FOLDER = "run"
#: Optimizers of the agreement table and their learning rates (large enough to move the weights).
AGREEMENT_OPTIMIZERS = {"sgd": 0.05, "adam": 1e-3}


#: Steps of the NumPy run in a default (not --full) report: one epoch, so that `make report` keeps to its
#: budget on 2 CPU cores; --full trains the course's 5,500.
DEFAULT_STEPS = 1100


def convnet_settings(*, quick: bool, seed: int, full: bool = False) -> dict[str, Any]:
    """The DCN study's run with ``engine="numpy"`` (one epoch unless ``full`` or ``quick``), and the
    agreement's size (20 steps of 50 images; quick: 5 steps of 8)."""
    settings = dcn_settings(quick=quick, seed=seed)
    settings["train"] = {**settings["train"], "engine": "numpy"}
    if not quick and not full:
        settings["train"] |= {"steps": DEFAULT_STEPS, "eval_every": DEFAULT_STEPS // 4}
    settings["agreement"] = {
        "steps": 5 if quick else 20,
        "batch_size": 8 if quick else 50,
        "optimizers": AGREEMENT_OPTIMIZERS,
    }
    return settings


def run_convnet_study(
    root: str | Path,
    *,
    quick: bool,
    seed: int,
    data_dir: str | Path | None = None,
    rerun: bool = False,
    progress: bool = True,
    full: bool = False,
) -> Result:
    """The finished NumPy-engine study under ``root`` (reused when complete, else computed now)."""
    return run_or_reuse(
        root,
        STUDY,
        convnet_settings(quick=quick, seed=seed, full=full),
        lambda config, folder: _compute(config, folder, data_dir, progress),
        rerun=rerun,
    )


def _compute(
    config: dict[str, Any], folder: Path, data_dir: str | Path | None, progress: bool
) -> tuple[dict[str, Any], Arrays]:
    from backproplab.mnist_net.config import TrainConfig
    from backproplab.mnist_net.run import train

    train_config = TrainConfig(**config["train"], out=str(folder / RUN_FOLDER), overwrite=True)
    data = study_data(data_dir, train_config.seed, config["subsets"], progress)
    agreement = config["agreement"]
    images, labels = data.train.images, data.train.labels
    arrays: Arrays = {}
    summary: dict[str, Any] = {}
    for optimizer, lr in agreement["optimizers"].items():
        ours, theirs = agreement_losses(
            images, labels, optimizer, lr, agreement["steps"], agreement["batch_size"], train_config.seed
        )
        arrays[f"agreement/{optimizer}/numpy"], arrays[f"agreement/{optimizer}/torch"] = ours, theirs
        summary[optimizer] = {
            "learning_rate": lr,
            "steps": agreement["steps"],
            "batch_size": agreement["batch_size"],
            "max_relative_difference": float(np.max(np.abs(ours - theirs) / np.abs(theirs))),
        }
    record = train(train_config, data=data, progress=progress)
    metrics = {**{k: v for k, v in record.items() if k != "final"}, **record["final"]}
    metrics["data"] = {name: len(getattr(data, name).labels) for name in ("train", "validation", "test")}
    metrics["agreement"] = summary
    return metrics, arrays


def agreement_losses(
    images: np.ndarray, labels: np.ndarray, optimizer: str, lr: float, steps: int, batch_size: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(NumPy losses, PyTorch losses), each (steps,): both engines in float64 from the DCN's initial
    weights (``seed``), on consecutive batches of ``images`` (N, 784) / ``labels`` (N,), with the
    dropout masks the DCN draws handed to the NumPy net."""
    import torch
    import torch.nn.functional as F

    from backproplab.dcn.model import DCN
    from backproplab.dcn.optim import make_optimizer
    from backproplab.numpy_dcn.check import float64_twin, numpy_losses

    if steps * batch_size > len(labels):
        raise ValueError(f"{steps} steps of {batch_size} need {steps * batch_size} images, there are {len(labels)}")
    torch.manual_seed(seed)
    dcn = DCN("relu", "truncated_normal", dropout=0.5).double().train()
    net = float64_twin({name: p.detach().numpy().copy() for name, p in dcn.named_parameters()}, dropout=0.5)
    opt = make_optimizer(optimizer, dcn.parameters(), lr)
    theirs, plan = [], []
    for i in range(steps):
        x = torch.as_tensor(images[i * batch_size : (i + 1) * batch_size], dtype=torch.float64)
        y = torch.as_tensor(labels[i * batch_size : (i + 1) * batch_size], dtype=torch.int64)
        # The DCN draws its dropout mask with torch.rand (dcn.model.dropout): draw the same one here first.
        before = torch.get_rng_state()
        mask = (torch.rand((batch_size, 1024)) >= dcn.dropout).to(torch.float64).mul_(1.0 / (1.0 - dcn.dropout))
        torch.set_rng_state(before)
        opt.zero_grad()
        loss = F.cross_entropy(dcn(x), y)
        loss.backward()
        opt.step()
        theirs.append(loss.item())
        plan.append((x.numpy(), y.numpy(), mask.numpy()))
    return numpy_losses(net, optimizer, lr, plan), np.array(theirs)
