"""Settings declared once: the flags, their help with the default, and the checks all come from the
config dataclass; a config is checked when it is built."""

from __future__ import annotations

import argparse
import contextlib
from dataclasses import dataclass

import pytest

from backproplab.errors import UsageError
from backproplab.registry import Registry, UnknownName
from backproplab.settings import add_arguments, fraction, given, positive_float, positive_int, setting, validate

SHAPES = Registry("shape", {"circle": 0, "square": 4})


@dataclass
class Toy:
    steps: int = setting(10, "how many steps", check=positive_int, metavar="N", group="training")
    rate: float | None = setting(None, "step size", flag="--lr", aliases=("--rate",), check=positive_float)
    keep: float = setting(0.5, "kept fraction", check=fraction(why="is the kept fraction"))
    shape: str = setting("circle", "what to draw", choices=SHAPES, group="drawing")
    loud: bool = setting(False, "print more")
    secret: int = setting(3, "not a flag", check=positive_int, cli=False)

    def __post_init__(self) -> None:
        validate(self)


def _parser() -> tuple[argparse.ArgumentParser, dict]:
    parser = argparse.ArgumentParser(prog="toy")
    groups = add_arguments(parser, Toy, notes={"steps": "--fast: 2"})
    return parser, groups


def test_flags_help_and_defaults_come_from_the_declaration() -> None:
    parser, groups = _parser()
    assert list(groups) == ["training", "options", "drawing"]
    text = " ".join(parser.format_help().split())
    assert "--steps N how many steps (default: 10; --fast: 2)" in text
    assert "--lr RATE, --rate RATE step size" in text and "step size (default" not in text  # None: no default shown
    assert "--keep KEEP kept fraction (default: 0.5)" in text
    assert "--shape NAME what to draw; one of: circle, square (default: circle)" in text
    assert "--loud print more" in text and "print more (default" not in text
    assert "--secret" not in text


def test_only_typed_flags_reach_the_config_and_are_parsed_by_type() -> None:
    parser, _ = _parser()
    args = parser.parse_args(["--steps", "7", "--rate", "0.5", "--shape", "Square", "--loud"])
    typed = given(args, Toy)
    assert typed == {"steps": 7, "rate": 0.5, "shape": "Square", "loud": True}
    toy = Toy(**typed)
    assert (toy.steps, toy.rate, toy.keep, toy.shape, toy.loud, toy.secret) == (7, 0.5, 0.5, "square", True, 3)
    assert given(parser.parse_args([]), Toy) == {}
    with pytest.raises(SystemExit):
        parser.parse_args(["--steps", "many"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"steps": 0}, "--steps: must be a positive whole number, got 0"),
        ({"steps": True}, "--steps: must be a positive whole number, got True"),
        ({"rate": -1.0}, "--lr (rate): must be a positive number, got -1.0"),
        ({"rate": float("inf")}, "--lr (rate): must be a positive number, got inf"),
        ({"keep": 1.0}, "--keep: is the kept fraction, in (0, 1), got 1.0"),
        ({"secret": -2}, "secret: must be a positive whole number, got -2"),
    ],
)
def test_a_config_is_checked_when_built(kwargs: dict, message: str) -> None:
    with pytest.raises(UsageError) as info:
        Toy(**kwargs)
    assert str(info.value) == message


def test_an_unknown_choice_names_the_flag_and_lists_the_names() -> None:
    with pytest.raises(UnknownName) as info:
        Toy(shape="hexagon")
    assert str(info.value) == "--shape: unknown shape 'hexagon'; choose one of: circle, square"


def test_none_is_allowed_only_where_it_is_the_default() -> None:
    assert Toy(rate=None).rate is None
    with pytest.raises(UsageError, match="--steps: must be a positive whole number, got None"):
        Toy(steps=None)


def test_the_real_configs_check_once_when_built() -> None:
    from backproplab.experiments.mlp_run import MLPConfig
    from backproplab.mnist_net.config import TrainConfig

    config = TrainConfig(activation="Leaky-ReLU", init="He", optimizer="NAG", precision="bfloat16")
    assert (config.activation, config.init, config.optimizer, config.precision) == (
        "leaky_relu",
        "he_normal",
        "nesterov",
        "bf16",
    )
    with pytest.raises(UsageError, match="--steps: must be a positive whole number, got 0"):
        TrainConfig(steps=0)
    with pytest.raises(UsageError, match="--resume and --overwrite contradict"):
        TrainConfig(resume=True, overwrite=True)
    mlp = MLPConfig(dataset="Breast-Cancer", activation=["Tanh", "ReLU"], hidden=[4, 4], dtype="fp32")
    assert (mlp.dataset, mlp.activation, mlp.dtype) == ("breast_cancer", ["tanh", "relu"], "float32")
    with pytest.raises(UsageError, match=r"--lr \(epsilon\): must be a positive number, got -1"):
        MLPConfig(epsilon=-1)
    with pytest.raises(UsageError, match="2 activations for 1 hidden layers"):
        MLPConfig(activation=["tanh", "relu"])


def test_a_setting_without_a_way_to_read_it_is_a_declaration_error() -> None:
    @dataclass
    class Bad:
        widths: list[int] = setting(None, "no parse= for a list")

    with pytest.raises(TypeError, match="give parse="):
        add_arguments(argparse.ArgumentParser(), Bad)


def test_a_command_can_share_only_some_settings() -> None:
    parser = argparse.ArgumentParser(prog="toy")
    groups = add_arguments(parser, Toy, only=("steps", "shape"))
    assert list(groups) == ["training", "drawing"]
    text = " ".join(parser.format_help().split())
    assert "--steps N how many steps (default: 10)" in text and "--shape NAME" in text
    assert "--lr" not in text and "--keep" not in text and "--loud" not in text
    assert given(parser.parse_args(["--shape", "circle"]), Toy) == {"shape": "circle"}
    with pytest.raises(TypeError, match="no settings"):
        add_arguments(argparse.ArgumentParser(), Toy, only=("stpes",))


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["mlp", "--hidden", "10,,10"], "argument --hidden: empty entry in '10,,10'; give a comma-separated list"),
        (["mlp", "--activation", "tanh,"], "argument --activation: empty entry in 'tanh,'"),
        (["mlp", "--grid", "--depths", "1,x"], "'1,x' is not a comma-separated list of whole numbers, e.g. 1,2,3,5"),
        (["explore", "--hidden", "3;4,y"], "'3;4,y' is not a list of widths"),
        (["report", "--sections", "moons,,deep"], "--sections: empty entry in 'moons,,deep'"),
        (["sweep", "--activations", "relu,,tanh"], "--activations: empty entry in 'relu,,tanh'"),
    ],
)
def test_every_comma_list_is_read_by_one_parser(tmp_path, capsys, argv, needle) -> None:
    """One reader of comma lists (settings.parse_list): every command refuses an empty entry or a
    bad value in one line, in the same words."""
    from backproplab.cli import main

    with pytest.raises(SystemExit) if argv[0] in ("mlp", "explore") else contextlib.nullcontext():  # argparse's
        assert main([*argv, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err and not (tmp_path / "out").exists()
