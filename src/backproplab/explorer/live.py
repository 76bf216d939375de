"""What the page's live mode offers, read from the NumPy engine's own registries and signatures, so the
page never keeps a copy of a default: the data sets the page can generate (``static/engine.js``) with
their generators' defaults, the activations, and the optimizers with their default settings.

Layout (JSON-ready, inlined in the page as ``"live"``):

    {"datasets": {name: {"n_samples", "noise", "options": {name: value}}},
     "activations": [name, ...],
     "optimizers": {name: {"lr": default, option: default, ...}},
     "diverge_factor": the Trainer's rule (a loss above this multiple of the first, twice running, is divergence),
     "defaults": {"dataset", "hidden", "activation", "lr", "l2", "optimizer", "batch", "seed"}}
"""

from __future__ import annotations

import inspect

from backproplab.datasets.toy import TOY_DATASETS
from backproplab.divergence import DIVERGE_FACTOR
from backproplab.explorer.runs import RunSpec
from backproplab.scratch.activations import ACTIVATIONS
from backproplab.scratch.optimizers import OPTIMIZERS

#: The 2-D sets whose generators ``engine.js`` ports (blobs and Gaussian quantiles draw through
#: scikit-learn internals the page does not repeat).
LIVE_DATASETS = ("moons", "circles", "spirals", "xor")


def _generator_defaults(name: str) -> dict:
    params = inspect.signature(TOY_DATASETS[name]).parameters
    options = {k: p.default for k, p in params.items() if k not in ("n_samples", "noise", "seed")}
    return {"n_samples": params["n_samples"].default, "noise": params["noise"].default, "options": options}


def live_settings() -> dict:
    """The live mode's choices and defaults (see the module docstring); the defaults are the handout's
    network, the explorer's first recorded run."""
    spec = RunSpec("moons", (3,), "tanh")
    return {
        "datasets": {name: _generator_defaults(name) for name in LIVE_DATASETS},
        "activations": ACTIVATIONS.names(),
        "optimizers": {
            name: {"lr": OPTIMIZERS[name].default_lr, **OPTIMIZERS[name].defaults} for name in OPTIMIZERS.names()
        },
        "diverge_factor": DIVERGE_FACTOR,
        "defaults": {
            "dataset": spec.dataset,
            "hidden": list(spec.hidden),
            "activation": spec.activation,
            "lr": spec.epsilon,
            "l2": spec.reg_lambda,
            "optimizer": "sgd",
            "batch": None,
            "seed": spec.seed,
        },
    }
