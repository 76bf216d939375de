"""The NumPy optimizers: a step computed by hand on a tiny problem, and torch.optim's steps."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from backproplab.numpy_dcn import checkpoint
from backproplab.scratch import OPTIMIZERS, make_optimizer

ALL = list(OPTIMIZERS)


def hand_steps(name: str, p0: float, grads: list[float], lr: float) -> float:
    """The update rules written out for one scalar parameter, with the default hyperparameters."""
    p, v, G, s, m, u = p0, 0.0, 0.0, 0.0, 0.0, 0.0
    for t, g in enumerate(grads, start=1):
        if name == "sgd":
            p = p - lr * g
        elif name == "momentum":
            v = 0.9 * v + g
            p = p - lr * v
        elif name == "nesterov":
            v = 0.9 * v + g
            p = p - lr * (g + 0.9 * v)
        elif name == "adagrad":
            G = G + g * g
            p = p - lr * g / (math.sqrt(G) + 1e-10)
        elif name == "rmsprop":
            s = 0.99 * s + 0.01 * g * g
            p = p - lr * g / (math.sqrt(s) + 1e-8)
        elif name == "adam":
            m = 0.9 * m + 0.1 * g
            u = 0.999 * u + 0.001 * g * g
            m_hat, u_hat = m / (1 - 0.9**t), u / (1 - 0.999**t)
            p = p - lr * m_hat / (math.sqrt(u_hat) + 1e-8)
    return p


@pytest.mark.parametrize("name", ALL)
def test_step_matches_the_rule_computed_by_hand(name: str) -> None:
    # f(p) = (p - 3)^2 / 2 at p = [0, 1]: gradient p - 3, recomputed from the new p each step
    p = np.array([0.0, 1.0])
    opt = make_optimizer(name, [p], lr=0.1)
    seen: list[list[float]] = [[], []]
    for _ in range(3):
        g = p - 3.0
        for j in range(2):
            seen[j].append(float(g[j]))
        opt.step([g])
    for j, p0 in enumerate([0.0, 1.0]):
        assert p[j] == pytest.approx(hand_steps(name, p0, seen[j], 0.1), rel=1e-12, abs=1e-14)


def test_first_steps_known_values() -> None:
    # First step of Adam is lr * sign(g) (bias correction); Adagrad's is lr * g / |g|; momentum = sgd.
    for name in ("adam", "adagrad"):
        p = np.array([1.0, 1.0, 1.0])
        make_optimizer(name, [p], lr=0.5).step([np.array([4.0, -0.01, 1e3])])
        np.testing.assert_allclose(p, [0.5, 1.5, 0.5], rtol=1e-6)
    p = np.array([2.0])
    make_optimizer("momentum", [p], lr=0.25).step([np.array([2.0])])
    assert p[0] == 1.5
    # RMSProp's first step: g / sqrt(0.01 g^2) = 10 sign(g)
    p = np.array([0.0])
    make_optimizer("rmsprop", [p], lr=0.01).step([np.array([3.0])])
    assert p[0] == pytest.approx(-0.1, rel=1e-6)


TORCH_CASES = [
    ("sgd", {}, lambda torch, ps: torch.optim.SGD(ps, lr=0.05)),
    ("momentum", {}, lambda torch, ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9)),
    ("momentum", {"momentum": 0.5}, lambda torch, ps: torch.optim.SGD(ps, lr=0.05, momentum=0.5)),
    ("nesterov", {}, lambda torch, ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True)),
    ("adagrad", {}, lambda torch, ps: torch.optim.Adagrad(ps, lr=0.05)),
    ("rmsprop", {}, lambda torch, ps: torch.optim.RMSprop(ps, lr=0.05)),
    ("rmsprop", {"alpha": 0.9, "eps": 1e-4}, lambda torch, ps: torch.optim.RMSprop(ps, lr=0.05, alpha=0.9, eps=1e-4)),
    ("adam", {}, lambda torch, ps: torch.optim.Adam(ps, lr=0.05)),
    (
        "adam",
        {"beta1": 0.5, "beta2": 0.9, "eps": 1e-3},
        lambda torch, ps: torch.optim.Adam(ps, lr=0.05, betas=(0.5, 0.9), eps=1e-3),
    ),
]


@pytest.mark.parametrize("name,options,make_torch", TORCH_CASES)
def test_steps_match_torch_optim(name, options, make_torch) -> None:
    rng = np.random.RandomState(0)
    ours = [rng.randn(3, 4), rng.randn(4)]
    theirs = [torch.tensor(p.copy(), requires_grad=True) for p in ours]
    opt = make_optimizer(name, ours, lr=0.05, **options)
    topt = make_torch(torch, theirs)
    for step in range(6):
        # gradients of very different sizes, including tiny ones where eps placement matters
        grads = [rng.randn(3, 4) * 10.0 ** (step - 3), rng.randn(4) * 1e-6]
        opt.step(grads)
        for t, g in zip(theirs, grads, strict=True):
            t.grad = torch.from_numpy(g.copy())
        topt.step()
        for p, t in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(p, t.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_step_does_not_modify_the_gradients_and_allocates_state_once() -> None:
    p = np.ones(5)
    g = np.linspace(-1, 1, 5)
    g0 = g.copy()
    opt = make_optimizer("adam", [p])
    opt.step([g])
    buffers = {k: id(v) for k, v in opt.state[0].items()}
    opt.step([g])
    np.testing.assert_array_equal(g, g0)
    assert {k: id(v) for k, v in opt.state[0].items()} == buffers


def test_defaults_and_names() -> None:
    assert OPTIMIZERS.names() == ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"]
    p = [np.zeros(2)]
    assert make_optimizer("adam", p).lr == 0.001
    assert make_optimizer("SGD", p).lr == 0.01
    assert make_optimizer("adam", p).hyper == {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
    assert make_optimizer("RMSProp", p).hyper == {"alpha": 0.99, "eps": 1e-8}
    assert "Adam(lr=0.001" in repr(make_optimizer("adam", p))


@pytest.mark.parametrize(
    "args,kwargs,match",
    [
        (("lbfgs", [np.zeros(2)]), {}, "unknown optimizer 'lbfgs'; choose one of: sgd, momentum, nesterov"),
        (("adam", [np.zeros(2)]), {"momentum": 0.9}, "adam: unknown option\\(s\\) momentum; valid options are: beta1"),
        (("sgd", [np.zeros(2)]), {"lr": 0.0}, "learning rate must be a positive"),
        (("sgd", [np.zeros(2)]), {"lr": float("nan")}, "learning rate must be a positive"),
        (("momentum", [np.zeros(2)]), {"momentum": 1.0}, "momentum must be in \\[0, 1\\)"),
        (("adam", [np.zeros(2)]), {"beta2": 1.5}, "beta2 must be in"),
        (("sgd", []), {}, "no parameters"),
        (("sgd", [np.zeros(2, dtype=int)]), {}, "floating-point"),
    ],
)
def test_bad_optimizer_arguments(args, kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        make_optimizer(*args, **kwargs)


def test_check_grads_names_the_mismatch() -> None:
    opt = make_optimizer("sgd", [np.zeros((2, 3))])
    with pytest.raises(ValueError, match=r"gradient 0 has shape \(3, 2\), its parameter \(2, 3\)"):
        opt.check_grads([np.zeros((3, 2))])
    with pytest.raises(ValueError, match="got 2 gradients for 1 parameters"):
        opt.check_grads([np.zeros((2, 3)), np.zeros(1)])


def test_names_and_aliases_are_the_same_everywhere() -> None:
    from backproplab.experiments.mlp_run import MLPConfig

    for spelling, name in [("NAG", "nesterov"), ("sgd-momentum", "momentum"), ("RMSProp", "rmsprop"), ("Adam", "adam")]:
        assert OPTIMIZERS.canonical(spelling) == name
        assert make_optimizer(spelling, [np.zeros(2)]).name == name
        assert MLPConfig(optimizer=spelling).optimizer == name
    with pytest.raises(ValueError, match="unknown optimizer 'lbfgs'; choose one of: sgd"):
        MLPConfig(optimizer="lbfgs")


#: The state each optimizer keeps per parameter, under the names a NumPy-engine checkpoint stores it
#: (``optimizer/<i>/<slot>``): a renamed slot would make a resumed run start that state from zeros.
SLOTS = {
    "sgd": set(),
    "momentum": {"velocity"},
    "nesterov": {"velocity"},
    "adagrad": {"sum_sq"},
    "rmsprop": {"square_avg"},
    "adam": {"m", "v"},
}


@pytest.mark.parametrize("name", sorted(SLOTS))
def test_state_slots_are_named_as_checkpoints_store_them(name: str) -> None:
    assert sorted(SLOTS) == sorted(OPTIMIZERS.names())
    opt = make_optimizer(name, [np.zeros(3), np.zeros(2)], lr=0.1)
    opt.step([np.ones(3), np.ones(2)])
    for slots in opt.state:
        assert set(slots) - checkpoint._SCRATCH == SLOTS[name]  # the saved state
        assert set(slots) & checkpoint._SCRATCH == {"tmp"}  # scratch space, left out of the file


@pytest.mark.parametrize("name", sorted(SLOTS))
def test_a_step_with_a_gradient_missing_is_refused(name: str) -> None:
    """One gradient per parameter, in order: a shorter list is an error, not a step that silently
    leaves the parameters without a gradient where they were."""
    opt = make_optimizer(name, [np.ones(3), np.ones(2)], lr=0.1)
    with pytest.raises(ValueError, match="shorter"):
        opt.step([np.ones(3)])


@pytest.mark.parametrize("name", ["sgd", "momentum", "adam"])
def test_the_step_count_a_checkpoint_saves_is_the_steps_taken(name) -> None:
    p = np.zeros(3)
    opt = make_optimizer(name, [p], 0.1)
    for _ in range(3):
        opt.step([np.ones(3)])
    assert opt.t == 3
