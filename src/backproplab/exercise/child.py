"""The checks of a learner's workspace, in the child process: ``python -P -m backproplab.exercise.child DIR ITEMS OUT``.

Imports the learner's modules from DIR, runs each item's check in turn and writes its result as JSON
to ``OUT/<index>.json`` as soon as it is known.
Whatever the learner's code raises (sys.exit and MemoryError included) becomes the item's result,
with the traceback cut to the learner's own frames. The parent (:mod:`.sandbox`) sets the limits
and reports a process that dies before writing a result.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from backproplab.exercise.diagnoses import Failed

#: The sandbox tells the child its memory limit here, for the message of a MemoryError.
MEMORY_LIMIT_ENV = "BACKPROPLAB_CHECK_MEMORY_MB"
NOT_STARTED = re.compile(r"fill in \(([\w-]+)\): (\w+)")
#: The modules each item imports, the first of them required (1b-1e never need the deeper network's file).
MODULES = {
    "1f": ("three_layer_neural_network", "n_layer_neural_network"),
    "2a": ("dcn_mnist",),
    "2a-step": ("dcn_mnist",),
    "2b": ("dcn_mnist",),
}
DEFAULT_MODULES = ("three_layer_neural_network",)


def learner_traceback(exc: BaseException, folder: Path) -> str:
    """The traceback's frames in the learner's files (their code, their lines), then the exception."""
    frames = [
        f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).resolve().parent == folder.resolve()
    ]
    lines = [f'  File "{Path(f.filename).name}", line {f.lineno}, in {f.name}\n    {f.line}' for f in frames]
    head = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return "\n".join([*lines, head])


def _where(exc: BaseException, folder: Path) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).resolve().parent == folder]
    return f" ({Path(frames[-1].filename).name}, line {frames[-1].lineno}, in {frames[-1].name})" if frames else ""


def run_check(folder: Path, item: str) -> dict[str, Any]:
    """The result of ``item`` on the workspace at ``folder`` (status, summary, details, diagnosis, traceback)."""
    folder = folder.resolve()
    sys.path.append(str(folder))  # appended: a learner's numpy.py cannot hide the real one
    result: dict[str, Any] = {"item": item, "status": "failed", "details": [], "diagnosis": None, "traceback": None}
    module = "the workspace"
    try:
        needed = MODULES.get(item, DEFAULT_MODULES)
        if not (folder / f"{needed[0]}.py").is_file():
            raise Failed(f"{needed[0]}.py is missing from the workspace")
        mods = {}
        for module in needed:
            if (folder / f"{module}.py").is_file():
                mods[module] = importlib.import_module(module)
        module = "the check"
        checks = importlib.import_module(f"backproplab.exercise.part{item[0]}").CHECKS  # torch for part 2 only
        result["details"] = checks[item](mods)
        result.update(status="passed", summary="passed")
    except Failed as failed:
        result.update(summary=failed.summary, details=failed.details, diagnosis=failed.diagnosis, errors=failed.errors)
    except NotImplementedError as exc:
        match = NOT_STARTED.search(str(exc))
        if match and match.group(1) == item:
            result.update(
                status="not started", summary=f"not started ({match.group(2)} still raises NotImplementedError)"
            )
        elif match:  # nothing of this item could run yet: not started, and why
            result.update(
                status="not started", summary=f"needs {match.group(1)} first: {match.group(2)} is not filled in yet"
            )
        else:
            result.update(summary=f"your code raised NotImplementedError{_where(exc, folder)}")
            result["traceback"] = learner_traceback(exc, folder)
    except MemoryError as exc:
        limit = os.environ.get(MEMORY_LIMIT_ENV, "?")
        result.update(summary=f"ran out of memory (the limit is {limit} MiB){_where(exc, folder)}: {exc}")
        result["traceback"] = learner_traceback(exc, folder)
    except SystemExit as exc:
        result.update(summary=f"your code called sys.exit({exc.code!r}){_where(exc, folder)}")
    except SyntaxError as exc:
        result.update(summary=f"{Path(exc.filename or '?').name} is not valid Python: {exc.msg} (line {exc.lineno})")
    except Exception as exc:
        stage = f"importing {module}.py" if module not in ("the check", "the workspace") else "the check"
        result.update(summary=f"your code raised {type(exc).__name__} during {stage}{_where(exc, folder)}: {exc}")
        result["traceback"] = learner_traceback(exc, folder)
    return result


def main(argv: list[str]) -> int:
    """``DIR ITEM[,ITEM...] OUT_DIR``: each item's result as ``OUT_DIR/<index>.json``, written when it finishes."""
    from backproplab.io import write_json
    from backproplab.settings import parse_list

    folder, items, out = argv
    for i, item in enumerate(parse_list(items)):
        start = time.perf_counter()
        result = run_check(Path(folder), item)
        result["seconds"] = time.perf_counter() - start
        write_json(Path(out, f"{i}.json"), result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
