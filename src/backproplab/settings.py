"""Each setting declared once, in its config dataclass; flags, help and validation are made from it.

    @dataclass
    class RunConfig:
        steps: int = setting(5500, "training steps", check=positive_int, group="training")
        optimizer: str = setting("adam", "update rule", choices=OPTIMIZERS)

        def __post_init__(self) -> None:
            validate(self)                    # once, when the config is built

    add_arguments(parser, RunConfig)          # --steps N  training steps (default: 5500) ...
    RunConfig(**given(args, RunConfig))       # only the flags the user typed; the rest are defaults

A check is a function ``value -> value`` (it may normalise, e.g. a name to its registered spelling)
that raises :class:`Invalid` with the reason ("must be a positive whole number"); :func:`validate`
adds the setting's flag (and field name where they differ) and the value. A setting whose default
is ``None`` accepts ``None``.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import numbers
import types
import typing
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from backproplab.errors import UsageError
from backproplab.registry import Registry, UnknownName

Check = Callable[[Any], Any]


class Invalid(ValueError):
    """Raised by a check with the reason only; :func:`validate` names the setting."""


@dataclass(frozen=True)
class Setting:
    """How one config field appears on the command line and how it is checked (see :func:`setting`)."""

    help: str
    flag: str | None = None
    aliases: tuple[str, ...] = ()
    parse: Callable[[str], Any] | None = None
    check: Check | None = None
    choices: Registry | None = None
    metavar: str | None = None
    group: str = "options"
    default_text: str | None = None
    cli: bool = True
    shapes: str | None = None


#: What a setting can shape (``setting(shapes=...)``): the numbers a run computes, or only what it
#: records when (evaluations, summaries). A resumed run must keep both kinds.
SHAPES = ("trajectory", "record")


def setting(
    default: Any,
    help: str,
    *,
    flag: str | None = None,
    aliases: tuple[str, ...] = (),
    parse: Callable[[str], Any] | None = None,
    check: Check | None = None,
    choices: Registry | None = None,
    metavar: str | None = None,
    group: str = "options",
    default_text: str | None = None,
    cli: bool = True,
    shapes: str | None = None,
) -> Any:
    """A dataclass field with its one declaration: default, help, flag (default ``--field-name``),
    extra flag spellings, how to parse the text (default: from the annotation), the check, a registry
    of valid names, the argument group, the default as --help shows it, whether it is a flag, and
    what of a run it shapes (one of :data:`SHAPES`, or None)."""
    if shapes is not None and shapes not in SHAPES:
        raise ValueError(f"shapes={shapes!r}: use one of {SHAPES} or None")
    meta = Setting(help, flag, aliases, parse, check, choices, metavar, group, default_text, cli, shapes)
    return dataclasses.field(default=default, metadata={"setting": meta})


def fields_shaping(cls: type, *kinds: str) -> tuple[str, ...]:
    """The names of the settings of ``cls`` declared with ``shapes`` in ``kinds``, in declaration order."""
    return tuple(f.name for f, meta in settings_of(cls) if meta.shapes in kinds)


def settings_of(cls: type) -> list[tuple[dataclasses.Field, Setting]]:
    """The fields of dataclass ``cls`` declared with :func:`setting`, in order."""
    return [(f, f.metadata["setting"]) for f in dataclasses.fields(cls) if "setting" in f.metadata]


def flag_of(field: dataclasses.Field) -> str:
    meta: Setting = field.metadata["setting"]
    return meta.flag or "--" + field.name.replace("_", "-")


# ----------------------------------------------------------------------------- checks


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def positive_int(value: Any) -> int:
    if not _is_int(value) or value <= 0:
        raise Invalid("must be a positive whole number")
    return int(value)


def non_negative_int(value: Any) -> int:
    if not _is_int(value) or value < 0:
        raise Invalid("must be a whole number >= 0")
    return int(value)


def positive_float(value: Any) -> float:
    if not _is_real(value) or value <= 0:
        raise Invalid("must be a positive number")
    return float(value)


def non_negative_float(value: Any) -> float:
    if not _is_real(value) or value < 0:
        raise Invalid("must be a number >= 0")
    return float(value)


def fraction(*, low_closed: bool = False, why: str = "is a fraction") -> Check:
    """A check for a number in (0, 1), or [0, 1) with ``low_closed``; ``why`` says what it is."""
    interval = "[0, 1)" if low_closed else "(0, 1)"

    def check(value: Any) -> float:
        if not _is_real(value) or not (0 <= value < 1 if low_closed else 0 < value < 1):
            raise Invalid(f"{why}, in {interval}")
        return float(value)

    return check


def int_range(low: int, high: int) -> Check:
    """A check for a whole number in [low, high]."""

    def check(value: Any) -> int:
        if not _is_int(value) or not low <= value <= high:
            raise Invalid(f"must be a whole number from {low} to {high}")
        return int(value)

    return check


# ----------------------------------------------------------------------------- validation


def _describe(field: dataclasses.Field, meta: Setting) -> str:
    # The flag is what a command-line user fixes; the field name is what a Python caller typed.
    if not meta.cli:
        return field.name
    flag = flag_of(field)
    return flag if flag == "--" + field.name.replace("_", "-") else f"{flag} ({field.name})"


def validate(config: Any) -> None:
    """Check (and normalise in place) every :func:`setting` field of ``config``.

    Raises :class:`~backproplab.errors.UsageError` starting with the setting's flag, then the reason
    and the value (``--steps: must be a positive whole number, got 0``); an unknown name gets its
    registry's message listing the valid names (``--activation: unknown activation 'swish'; ...``).
    """
    for field, meta in settings_of(type(config)):
        value = getattr(config, field.name)
        if value is None and field.default is None:
            continue
        try:
            if meta.choices is not None:
                value = meta.choices.canonical(value)
            if meta.check is not None:
                value = meta.check(value)
        except UnknownName as exc:
            raise UnknownName(f"{_describe(field, meta)}: {exc}") from None
        except Invalid as exc:
            raise UsageError(f"{_describe(field, meta)}: {exc}, got {value!r}") from None
        setattr(config, field.name, value)


# ----------------------------------------------------------------------------- argparse

_LIST_NOUNS = {int: "whole numbers", float: "numbers", str: "names"}


def parse_list(text: str, kind: Callable[[str], Any] = str, example: str = "a,b") -> list[Any]:
    """``"a, b,c"`` -> ``[kind("a"), kind("b"), kind("c")]``: the one reader of comma lists. An empty
    entry, or one ``kind`` refuses, raises :class:`Invalid` naming the text and an ``example``."""
    items = [item.strip() for item in text.split(",")]
    if not text.strip() or not all(items):
        raise Invalid(f"empty entry in {text!r}; give a comma-separated list such as {example}")
    try:
        return [kind(item) for item in items]
    except ValueError:
        noun = _LIST_NOUNS.get(kind, f"{getattr(kind, '__name__', 'valid')} values")  # type: ignore[call-overload]
        raise Invalid(f"{text!r} is not a comma-separated list of {noun}, e.g. {example}") from None


def comma_list(kind: Callable[[str], Any] = str, example: str = "a,b") -> Callable[[str], list[Any]]:
    """:func:`parse_list` as an argparse ``type`` (its reason becomes the one-line usage error)."""

    def parse(text: str) -> list[Any]:
        try:
            return parse_list(text, kind, example)
        except Invalid as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def _parse_type(field: dataclasses.Field, hint: Any, meta: Setting) -> Callable[[str], Any] | None:
    if meta.parse is not None:
        return meta.parse
    options = [a for a in typing.get_args(hint) if a is not type(None)] if _is_union(hint) else [hint]
    if len(options) == 1 and options[0] in (int, float, str):
        return options[0]
    raise TypeError(f"setting {field.name}: give parse= to read a {hint} from the command line")


def _is_union(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType)


def _help(field: dataclasses.Field, meta: Setting, note: str | None) -> str:
    text = meta.help
    if meta.choices is not None:
        text += f"; one of: {meta.choices.choices_text()}"
    shown = meta.default_text if meta.default_text is not None else field.default
    if field.default is not False and shown is not None:
        text += f" (default: {shown}{'; ' + note if note else ''})"
    return text.replace("%", "%%")  # argparse formats help with %


def add_arguments(
    parser: argparse.ArgumentParser,
    cls: type,
    *,
    notes: Mapping[str, str] | None = None,
    only: Collection[str] | None = None,
) -> dict[str, argparse._ArgumentGroup]:
    """Add a flag for every command-line setting of ``cls`` (or the fields named in ``only``, for a
    command that shares some of another's settings), in argument groups by ``group``.

    Flags default to ``argparse.SUPPRESS``: only what the user types reaches the namespace (see
    :func:`given`), the config's own defaults fill the rest. ``notes`` adds a remark to a
    setting's shown default (e.g. ``{"optimizer": "--grid: adam"}``). Returns the groups by name.
    """
    hints = typing.get_type_hints(cls)
    fields = {field.name for field, _ in settings_of(cls)}
    unknown = sorted(set(only or ()) - fields)
    if unknown:
        raise TypeError(f"add_arguments(only=...): {cls.__name__} has no settings {unknown}")
    groups: dict[str, argparse._ArgumentGroup] = {}
    for field, meta in settings_of(cls):
        if not meta.cli or (only is not None and field.name not in only):
            continue
        group = groups.get(meta.group) or groups.setdefault(meta.group, parser.add_argument_group(meta.group))
        flags = (flag_of(field), *meta.aliases)
        help_text = _help(field, meta, (notes or {}).get(field.name))
        if hints[field.name] is bool:
            group.add_argument(*flags, dest=field.name, action="store_true", default=argparse.SUPPRESS, help=help_text)
            continue
        group.add_argument(
            *flags,
            dest=field.name,
            type=_parse_type(field, hints[field.name], meta),
            default=argparse.SUPPRESS,
            metavar=meta.metavar or ("NAME" if meta.choices is not None else None),
            help=help_text,
        )
    return groups


def given(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    """The settings of ``cls`` the user typed (flags made by :func:`add_arguments`)."""
    names = {field.name for field, _ in settings_of(cls)}
    return {name: value for name, value in vars(args).items() if name in names}


# ----------------------------------------------------------------------------- flags every command shares


@dataclass(frozen=True)
class CommonFlag:
    """A flag several subcommands share: one spelling, one metavar, and a help text that opens with
    ``meaning`` on every subcommand (the command may add what it applies to and its default)."""

    flag: str
    meaning: str
    metavar: str | None = None
    aliases: tuple[str, ...] = ()

    @property
    def dest(self) -> str:
        return self.flag.removeprefix("--").replace("-", "_")


#: The shared flags, by flag; ``tests/test_cli_grammar.py`` holds every subcommand to them.
COMMON_FLAGS: dict[str, CommonFlag] = {
    f.flag: f
    for f in (
        CommonFlag("--out", "output folder", "DIR"),
        CommonFlag("--name", "name of the output folder in its default place (unused with --out)", "NAME"),
        CommonFlag("--seed", "random seed", "N"),
        CommonFlag("--data-dir", "folder of the MNIST files", "DIR"),
        CommonFlag("--threads", "CPU threads", "N"),
        # --no-progress: the spelling mlp, report, explore and data download had before.
        CommonFlag("--quiet", "no progress bars (in a log: no progress lines)", aliases=("--no-progress",)),
    )
}


def common_help(flag: str, detail: str = "") -> str:
    """The help of shared ``flag``: its meaning, then ``detail`` (what it applies to here)."""
    return COMMON_FLAGS[flag].meaning + (f" {detail}" if detail else "")


def quiet_setting() -> Any:
    """The ``--quiet`` setting (``--no-progress`` its alias) for a config dataclass field ``quiet: bool``."""
    return setting(False, common_help("--quiet"), aliases=COMMON_FLAGS["--quiet"].aliases)


def add_quiet(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """Add ``--quiet`` (``--no-progress`` its alias) as ``args.quiet``."""
    quiet = COMMON_FLAGS["--quiet"]
    parser.add_argument(quiet.flag, *quiet.aliases, dest=quiet.dest, action="store_true", help=quiet.meaning)
