"""Where the four files are looked for, and what stands at each file's name.

The first folder holding all four files wins:

1. ``data_dir`` (``--data-dir``): the folder holding the four files, or a parent holding a
   ``mnist/`` or ``fashion-mnist/`` subfolder.
2. else ``BACKPROPLAB_DATA``: for MNIST the folder of the four files or a parent with ``mnist/``;
   for Fashion-MNIST its ``fashion-mnist/`` subfolder. An empty value counts as unset.
3. else (and for Fashion-MNIST also after 2.) the system folder ``/usr/share/datasets/fashion-mnist``
   (Debian's ``dataset-fashion-mnist``) and the per-user cache
   ``$XDG_CACHE_HOME/backproplab/<dataset>`` (default ``~/.cache/backproplab/<dataset>``).

If none does, the last folder of that list that applies is where a download goes.
"""

from __future__ import annotations

import os
from pathlib import Path

from backproplab.datasets.mnist.catalog import FILES, check_dataset
from backproplab.errors import UsageError

ENV_VAR = "BACKPROPLAB_DATA"
SYSTEM_DIRS = {"fashion-mnist": Path("/usr/share/datasets/fashion-mnist")}


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser() if value else None


def default_cache_dir(dataset: str = "mnist") -> Path:
    """The per-user download folder: ``$XDG_CACHE_HOME/backproplab/<dataset>`` (or ``~/.cache/...``)."""
    base = _env_path("XDG_CACHE_HOME") or Path.home() / ".cache"
    return base / "backproplab" / check_dataset(dataset)


def file_candidates(directory: Path, role: str) -> tuple[Path, Path]:
    """The two names a file may have in ``directory``: raw IDX first, then gzip."""
    name = FILES[role]
    return directory / name, directory / f"{name}.gz"


def find_files(directory: str | os.PathLike[str]) -> dict[str, Path | None]:
    """Each role's file in ``directory`` (raw preferred over .gz), or None when absent."""
    directory = Path(directory)
    return {role: next((p for p in file_candidates(directory, role) if p.is_file()), None) for role in FILES}


def not_a_file(directory: str | os.PathLike[str], role: str) -> Path | None:
    """Something under one of ``role``'s names that is not a regular file (a folder, a device, a
    broken link), when no regular file stands under the other name; else None."""
    candidates = file_candidates(Path(directory), role)
    if any(p.is_file() for p in candidates):
        return None
    return next((p for p in candidates if p.exists() or p.is_symlink()), None)


def describe_not_a_file(path: Path) -> str:
    """A one-line explanation that ``path`` stands where a data file should be, and the fix."""
    if path.is_dir():
        kind = "a folder"
    elif path.is_symlink() and not path.exists():
        kind = "a broken symbolic link"
    else:
        kind = "not a regular file"
    return f"{path} is {kind}, not a data file: move or remove it, then put the file there"


def _holds_any(directory: Path) -> bool:
    return any(p.is_file() for role in FILES for p in file_candidates(directory, role))


def search_dirs(data_dir: str | os.PathLike[str] | None, dataset: str = "mnist") -> tuple[list[Path], Path]:
    """(folders to look in, in order; the folder a download goes to). See the module docstring."""
    check_dataset(dataset)
    cache = default_cache_dir(dataset)
    explicit = Path(data_dir).expanduser() if data_dir is not None and str(data_dir).strip() else None
    if explicit is not None:
        if explicit.is_file():
            raise UsageError(f"data_dir must be a folder (holding the four files), got the file {explicit}")
        sub = explicit / dataset
        use_sub = sub.is_dir() and not _holds_any(explicit)
        return ([sub, explicit] if use_sub else [explicit, sub]), (sub if use_sub else explicit)
    env = _env_path(ENV_VAR)
    system = [SYSTEM_DIRS[dataset]] if dataset in SYSTEM_DIRS else []
    if env is not None:
        sub = env / dataset
        if dataset == "mnist":
            return [sub, env], (sub if sub.is_dir() else env)
        # BACKPROPLAB_DATA may be the MNIST folder itself: never download other data into it.
        target = sub if sub.is_dir() or not _holds_any(env) else cache
        return [sub, *system, cache], target
    return [*system, cache], cache


def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None, dataset: str = "mnist") -> Path:
    """The folder holding ``dataset``'s four files, or (if none does) the folder a download would fill."""
    dirs, target = search_dirs(data_dir, dataset)
    for directory in dirs:
        if all(find_files(directory).values()):
            return directory
    return target
