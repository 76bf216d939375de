"""One registry type for every choosable name: lookup, aliases, the one error, lazy entries, and
names that mean the same thing in both engines (checked against each other, not against constants)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from backproplab.cli import build_parser, main
from backproplab.errors import UsageError
from backproplab.registry import Lazy, Registry, UnknownName


def _colours() -> Registry[int]:
    return Registry("colour", {"dark_red": 1, "blue": 2}, aliases={"navy": "blue"})


@pytest.mark.parametrize("spelling", ["dark_red", "Dark-Red", "DARK RED", "darkred", " dark_red "])
def test_case_dashes_underscores_and_spaces_do_not_matter(spelling: str) -> None:
    reg = _colours()
    assert reg.canonical(spelling) == "dark_red" and reg[spelling] == 1 and spelling in reg


def test_aliases_names_and_order() -> None:
    reg = _colours()
    assert reg["Navy"] == 2 and reg.canonical("NAVY") == "blue"
    assert reg.names() == list(reg) == ["dark_red", "blue"] and len(reg) == 2
    assert reg.aliases() == {"navy": "blue"} and "navy" not in reg.names()


def test_unknown_name_is_one_usage_error_listing_the_names() -> None:
    with pytest.raises(UnknownName) as info:
        _colours()["green"]
    assert str(info.value) == "unknown colour 'green'; choose one of: dark_red, blue"
    assert isinstance(info.value, UsageError) and isinstance(info.value, ValueError)
    assert "green" not in _colours() and 3 not in _colours()
    with pytest.raises(UsageError, match="colour must be a name"):
        _colours().canonical(3)


def test_declarations_that_would_be_ambiguous_are_refused() -> None:
    with pytest.raises(ValueError, match="same when spelled loosely"):
        Registry("x", {"a_b": 1, "ab": 2})
    with pytest.raises(ValueError, match="not registered"):
        Registry("x", {"a": 1}, aliases={"b": "c"})


def test_entries_can_be_replaced_and_removed() -> None:
    reg = _colours()
    reg["Blue"] = 5
    assert reg["navy"] == 5 and reg.names() == ["dark_red", "blue"]
    reg["green"] = 7
    assert reg["GREEN"] == 7
    del reg["blue"]
    assert "navy" not in reg and reg.names() == ["dark_red", "green"]


def test_lazy_entries_load_on_first_lookup_only() -> None:
    reg = Registry("function", {"dumps": Lazy("json:dumps")})
    assert isinstance(reg._entries["dumps"], Lazy)  # listing and checking names loads nothing
    assert reg.names() == ["dumps"] and "Dumps" in reg
    import json

    assert reg["dumps"] is json.dumps and reg._entries["dumps"] is json.dumps
    with pytest.raises(ValueError, match="module:attribute"):
        Lazy("json.dumps")


def test_building_the_cli_and_dcn_help_does_not_import_torch() -> None:
    code = (
        "import sys, contextlib, io\n"
        "from backproplab.cli import build_parser\n"
        "from backproplab.mnist_net.config import TrainConfig\n"
        "TrainConfig(activation='ReLU')\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.suppress(SystemExit):\n"
        "    build_parser().parse_args(['dcn', '--help'])\n"
        "assert 'maxout' in out.getvalue()\n"
        "print('torch' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


# ----------------------------------------------------------------------------- one name, one meaning


def test_an_init_name_draws_the_same_distribution_in_both_engines() -> None:
    from backproplab.dcn.model import weight_variable
    from backproplab.mnist_net.choices import INITS as DCN_INITS
    from backproplab.scratch.layer import INITS, init_weights

    shared = [name for name in INITS if name in DCN_INITS]
    assert shared == ["xavier_normal", "he_normal"]
    fan_in, fan_out = 600, 400
    torch.manual_seed(0)
    for name in shared:
        w_numpy = init_weights(fan_in, fan_out, name, np.random.RandomState(0))  # (in, out)
        w_torch = weight_variable((fan_out, fan_in), name).detach().numpy()  # (out, in)
        assert w_numpy.std() == pytest.approx(w_torch.std(), rel=0.01), name
        assert abs(w_numpy.mean()) < 0.02 * w_numpy.std() and abs(w_torch.mean()) < 0.02 * w_torch.std()
    # The old NumPy names are aliases of the shared ones, and mean the same in the DCN.
    for old, new in (("xavier", "xavier_normal"), ("he", "he_normal"), ("glorot", "xavier_normal")):
        assert INITS.canonical(old) == DCN_INITS.canonical(old) == new


def test_an_activation_name_computes_the_same_function_in_both_engines() -> None:
    from backproplab.mnist_net.choices import ACTIVATIONS as DCN_ACTIVATIONS
    from backproplab.scratch.activations import ACTIVATIONS

    shared = [name for name in ACTIVATIONS if name in DCN_ACTIVATIONS]
    assert set(shared) == {"tanh", "sigmoid", "relu", "leaky_relu", "elu"}
    z = np.linspace(-4, 4, 81)
    for name in shared:
        expected = DCN_ACTIVATIONS[name].fn(torch.from_numpy(z)).numpy()
        np.testing.assert_allclose(ACTIVATIONS[name](z), expected, rtol=1e-12, atol=1e-15, err_msg=name)


def test_an_optimizer_name_takes_the_same_steps_in_both_engines() -> None:
    from backproplab.dcn.optim import make_optimizer as make_torch_optimizer
    from backproplab.mnist_net.choices import OPTIMIZERS as DCN_OPTIMIZERS
    from backproplab.scratch.optimizers import OPTIMIZERS, make_optimizer

    shared = [name for name in OPTIMIZERS if name in DCN_OPTIMIZERS]
    assert shared == ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"]
    start = np.random.RandomState(0).randn(5, 3)
    for name in shared:
        p = start.copy()
        opt = make_optimizer(name, [p], lr=0.05)
        tp = torch.nn.Parameter(torch.from_numpy(start.copy()))
        topt = make_torch_optimizer(name, [tp], lr=0.05)
        for _ in range(5):
            opt.step([p * p * p])  # gradient of sum(p^4) / 4
            tp.grad = tp.detach() ** 3
            topt.step()
        np.testing.assert_allclose(p, tp.detach().numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


# ----------------------------------------------------------------------------- the command line


def test_the_issue_spellings_are_accepted() -> None:
    from backproplab.commands.dcn import config_from_args
    from backproplab.commands.mlp import MLPConfig
    from backproplab.settings import given

    args = build_parser().parse_args(["dcn", "--activation", "ReLU", "--init", "Xavier-Uniform", "--optimizer", "Adam"])
    config = config_from_args(args)
    assert (config.activation, config.init, config.optimizer) == ("relu", "xavier_uniform", "adam")
    assert config.run_name() == "relu-xavier_uniform-adam-seed0"
    args = build_parser().parse_args(["mlp", "--activation", "ReLU", "--init", "xavier_normal"])
    mlp = MLPConfig(**given(args, MLPConfig))
    assert (mlp.activation, mlp.init) == ("relu", "xavier_normal")


def test_mlp_accepts_dcn_spellings_end_to_end(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    argv = ["mlp", "--activation", "ReLU", "--init", "xavier_normal", "--optimizer", "Adam", "--passes", "5"]
    assert main([*argv, "--no-progress", "--out", str(out)]) == 0
    assert "test accuracy" in capsys.readouterr().out
    assert (out / "metrics.json").is_file()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["dcn", "--activation", "swish"], "dcn: error: --activation: unknown activation 'swish'; choose one of: relu"),
        (["dcn", "--init", "zeros"], "dcn: error: --init: unknown initialisation 'zeros'; choose one of: truncated"),
        (["dcn", "--optimizer", "lbfgs"], "dcn: error: --optimizer: unknown optimizer 'lbfgs'; choose one of: sgd"),
        (
            ["dcn", "--precision", "fp16"],
            "dcn: error: --precision: unknown precision 'fp16'; choose one of: auto, fp32, bf16",
        ),
        (["mlp", "--activation", "swish"], "mlp: error: --activation: unknown activation 'swish'; choose one of: iden"),
        (["mlp", "--activation", "tanh,swish"], "mlp: error: --activation: unknown activation 'swish'; choose one"),
        (
            ["mlp", "--init", "zeros"],
            "mlp: error: --init: unknown weight initialisation 'zeros'; choose one of: scaled",
        ),
        (["mlp", "--optimizer", "lbfgs"], "mlp: error: --optimizer: unknown optimizer 'lbfgs'; choose one of: sgd"),
        (["mlp", "--dataset", "nope"], "mlp: error: --dataset: unknown data set 'nope'; choose one of: moons"),
        (
            ["mlp", "--dtype", "float16"],
            "mlp: error: --dtype: unknown dtype 'float16'; choose one of: float64, float32",
        ),
        (
            ["data", "verify", "--dataset", "kmnist"],
            "data: error: unknown data set 'kmnist'; choose one of: mnist, fash",
        ),
        (["report", "--sections", "moons,nope"], "report: error: unknown report section 'nope'; choose one of: moons"),
    ],
)
def test_an_unknown_name_anywhere_gets_the_same_one_line_error(tmp_path, capsys, argv, expected) -> None:
    assert main([*argv, *(["--out", str(tmp_path / "x")] if argv[0] != "data" else [])]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("backproplab ")
    assert expected in err
    assert not (tmp_path / "x").exists()


def test_an_activation_built_by_hand_is_its_own_entry() -> None:
    """The networks take a name or an Activation (the exercise's variants): the registry answers both."""
    from backproplab.scratch import ACTIVATIONS, Activation

    variant = Activation("tanh", ACTIVATIONS["tanh"].forward, lambda z, a: a, "a wrong derivative")
    assert ACTIVATIONS[variant] is variant and ACTIVATIONS["TanH"] is ACTIVATIONS["tanh"] is not variant
    with pytest.raises(UsageError, match="activation must be a name"):
        ACTIVATIONS[3]
