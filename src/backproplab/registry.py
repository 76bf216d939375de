"""One registry type for every name a user can choose: activations, initialisations, optimizers,
data sets, report sections, precisions -- in both engines and on the command line.

    ACTIVATIONS = Registry("activation", {"relu": relu, "tanh": tanh}, aliases={"linear": "identity"})
    ACTIVATIONS["ReLU"]            # -> relu: case, '-', '_' and spaces do not matter ("Leaky-ReLU")
    ACTIVATIONS.canonical("TANH")  # -> "tanh"
    ACTIVATIONS.names()            # -> ["relu", "tanh"]: for --help and argparse ``choices``
    ACTIVATIONS["swish"]           # UnknownName: unknown activation 'swish'; choose one of: relu, tanh

An entry may be :class:`Lazy` (``"module:attribute"``): it is imported on first lookup, so a
registry of torch objects can be declared, listed and checked without importing torch.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import Any, Generic, TypeVar

from backproplab.errors import UsageError

T = TypeVar("T")


class UnknownName(UsageError):
    """A name no registry entry answers to; the message lists the valid names."""


class Lazy:
    """A registry entry imported on first use: ``Lazy("package.module:attribute")``."""

    def __init__(self, target: str) -> None:
        module, _, attribute = target.partition(":")
        if not module or not attribute:
            raise ValueError(f"Lazy target must be 'module:attribute', got {target!r}")
        self.target = target

    def load(self) -> Any:
        module, _, attribute = self.target.partition(":")
        return getattr(importlib.import_module(module), attribute)

    def __repr__(self) -> str:
        return f"Lazy({self.target!r})"


def _squash(name: str) -> str:
    # "Xavier-Uniform", "xavier uniform", "XAVIER_UNIFORM" and "xavieruniform" are one key.
    return "".join(ch for ch in name.lower() if ch not in "-_ \t")


class Registry(Generic[T]):
    """Names -> entries, looked up forgivingly, with one error message for an unknown name.

    ``kind`` names what is chosen ("activation", "optimizer"); it starts the error message.
    ``aliases`` maps extra spellings to registered names. ``accepts``: a type whose instances
    ``registry[...]`` returns as they are (an entry built by hand, e.g. a variant activation).
    Iterating gives the registered names in declaration order; ``registry[name]`` the entry (a
    :class:`Lazy` one is loaded once).
    """

    def __init__(
        self,
        kind: str,
        entries: Mapping[str, T | Lazy],
        aliases: Mapping[str, str] | None = None,
        accepts: type | None = None,
    ) -> None:
        self.kind, self.accepts = kind, accepts
        self._entries: dict[str, T | Lazy] = dict(entries)
        self._aliases = dict(aliases or {})
        self._index: dict[str, str] = {}
        for name in self._entries:
            self._add_key(name, name)
        for alias, name in self._aliases.items():
            if name not in self._entries:
                raise ValueError(f"{kind} alias {alias!r} points to {name!r}, which is not registered")
            self._add_key(alias, name)

    def _add_key(self, spelling: str, name: str) -> None:
        key = _squash(spelling)
        if self._index.get(key, name) != name:
            raise ValueError(
                f"{self.kind} names {spelling!r} and {self._index[key]!r} are the same when spelled loosely"
            )
        self._index[key] = name

    def names(self) -> list[str]:
        """The registered names in declaration order (aliases not included)."""
        return list(self._entries)

    def aliases(self) -> dict[str, str]:
        """Extra spelling -> registered name."""
        return dict(self._aliases)

    def choices_text(self) -> str:
        """The names as a help text fragment: ``relu, tanh, sigmoid``."""
        return ", ".join(self._entries)

    def error(self, name: object) -> UnknownName:
        """The one error for a name that is not registered."""
        return UnknownName(f"unknown {self.kind} {name!r}; choose one of: {self.choices_text()}")

    def canonical(self, name: str) -> str:
        """The registered spelling of ``name``; :class:`UnknownName` (a ValueError) if there is none."""
        if not isinstance(name, str):
            raise UsageError(f"{self.kind} must be a name (str), got {type(name).__name__}")
        try:
            return self._index[_squash(name.strip())]
        except KeyError:
            raise self.error(name) from None

    def __getitem__(self, name: str) -> T:
        if self.accepts is not None and isinstance(name, self.accepts):
            return name  # type: ignore[return-value]
        key = self.canonical(name)
        entry = self._entries[key]
        if isinstance(entry, Lazy):
            entry = self._entries[key] = entry.load()
        return entry  # type: ignore[return-value]

    def get(self, name: str, default: Any = None) -> T | Any:
        """The entry of ``name``, or ``default`` when no entry answers to it."""
        return self[name] if name in self else default

    def __setitem__(self, name: str, entry: T | Lazy) -> None:
        """Register ``name`` (or replace the entry of a registered name or alias)."""
        key = self.canonical(name) if name in self else name
        self._add_key(key, key)
        self._entries[key] = entry

    def __delitem__(self, name: str) -> None:
        key = self.canonical(name)
        del self._entries[key]
        self._index = {k: v for k, v in self._index.items() if v != key}
        self._aliases = {k: v for k, v in self._aliases.items() if v != key}

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and _squash(name.strip()) in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def items(self) -> list[tuple[str, T]]:
        """(name, entry) pairs in declaration order, lazy entries loaded."""
        return [(name, self[name]) for name in self._entries]

    def values(self) -> list[T]:
        return [self[name] for name in self._entries]

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {self.choices_text()})"
