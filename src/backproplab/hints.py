"""Commands we tell the user to run, written one way: shell-quoted, and, for "run it again", built
from the user's own command line so that no setting they gave is lost.

The command line records what it was called with (:func:`invocation`); :func:`again` then returns
that command with ``--resume``/``--overwrite`` swapped as asked, e.g. ``backproplab dcn --steps 60
--out 'my runs/a' --overwrite`` for ``backproplab dcn --steps 60 --out 'my runs/a' --resume``.
Called from elsewhere (a sweep's worker, the report), it names the run folder instead.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

PROGRAM = "backproplab"
#: Flags that undo each other: asking for one drops the other from the user's command.
_OPPOSITES = {"--resume": "--overwrite", "--overwrite": "--resume"}
_invoked: list[list[str]] = []


def shell(*words: str | os.PathLike[str]) -> str:
    """``words`` as one line to paste into a POSIX shell, each quoted where it needs it."""
    return shlex.join(os.fspath(word) for word in words)


def tensorboard(logdir: str | os.PathLike[str]) -> str:
    """The command that shows ``logdir`` in TensorBoard."""
    return shell(PROGRAM, "tensorboard", "--logdir", logdir)


@contextmanager
def invocation(argv: Sequence[str]) -> Iterator[None]:
    """Within the block, ``argv`` (the arguments after the program name) is the command being run."""
    _invoked.append([str(arg) for arg in argv])
    try:
        yield
    finally:
        _invoked.pop()


def _is(token: str, flag: str) -> bool:
    # argparse accepts unambiguous prefixes (--over for --overwrite)
    return token == flag or (len(token) > 3 and token.startswith("--") and flag.startswith(token))


def again(command: str, folder: str | os.PathLike[str], *flags: str) -> str:
    """The command to run ``command`` again on the run in ``folder`` with ``flags`` (``--resume`` or
    ``--overwrite``): the user's own arguments when they ran ``command``, else ``--out folder``."""
    argv = _invoked[-1] if _invoked else []
    if argv[:1] == [command]:
        drop = {_OPPOSITES[f] for f in flags if f in _OPPOSITES}
        words = [w for w in argv[1:] if not any(_is(w, d) for d in drop)]
        words += [f for f in flags if not any(_is(w, f) for w in words)]
        return shell(PROGRAM, command, *words)
    return shell(PROGRAM, command, "--out", Path(folder), *flags)


def offered(flag_choices: Iterable[str], engine_has: Iterable[str]) -> list[str]:
    """The names to suggest for a flag whose engine supports only some: those both the flag accepts
    (``flag_choices``, in its order) and the engine has, so that no suggestion is then refused."""
    has = set(engine_has)
    return [name for name in flag_choices if name in has]
