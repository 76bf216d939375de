"""Reading the four files and checking them: structure, agreement of images and labels, SHA-256.

Each way a file can be wrong has its own status and message: ``missing``; ``not a file`` (a folder
or a broken link under the file's name); ``unreadable`` (permissions, I/O errors); ``damaged`` (not
well-formed IDX, a broken or oversized archive); ``checksum mismatch`` (well-formed, but not the
published content).
"""

from __future__ import annotations

import hashlib
import os
import shlex
from pathlib import Path
from typing import Any

import numpy as np

from backproplab.datasets.idx import (
    IMAGES_MAGIC,
    LABELS_MAGIC,
    MAX_IDX_BYTES,
    IDXError,
    parse_images,
    parse_labels,
    read_file_bytes,
)
from backproplab.datasets.mnist.catalog import (
    DEFAULT_VALIDATION_SIZE,
    DISPLAY_NAMES,
    FILES,
    IMAGE_SHAPE,
    NUM_CLASSES,
    SHA256,
    SIZES,
    check_dataset,
)
from backproplab.datasets.mnist.locate import describe_not_a_file, find_files, not_a_file, resolve_data_dir, search_dirs
from backproplab.errors import UsageError


class DataError(UsageError):
    """Data files that cannot be used as they are (the message names each problem and the fix)."""


class MissingDataError(DataError, FileNotFoundError):
    """Data files that are not there and could not be downloaded (the message says how to fix it)."""


class ChecksumError(IDXError):
    """A well-formed file whose content is not the published one."""


class UnreadableDataError(DataError):
    """A data file that is there but cannot be read (permissions, I/O error)."""


def check_content(dataset: str, role: str, data: bytes, source: str) -> str:
    """Raise :class:`ChecksumError` unless ``data`` has the published SHA-256; return the digest."""
    digest = hashlib.sha256(data).hexdigest()
    expected = SHA256[dataset][role]
    if digest != expected:
        hint = "the file is damaged or altered; delete it and download or copy it again"
        for other, table in SHA256.items():
            if other != dataset and digest in table.values():
                hint = f"this is the {DISPLAY_NAMES[other]} file, not {DISPLAY_NAMES[dataset]}'s"
        raise ChecksumError(f"{source}: SHA-256 mismatch: got {digest}, expected {expected} ({hint})")
    return digest


def magic_of(role: str) -> int:
    """The IDX magic number of a role's file (images or labels)."""
    return IMAGES_MAGIC if role.endswith("_images") else LABELS_MAGIC


def parse(role: str, data: bytes, source: str) -> np.ndarray:
    """The array of one file's IDX bytes: images (N, 28, 28) uint8 or labels (N,) uint8 in 0..9."""
    if role.endswith("_images"):
        return parse_images(data, source, IMAGE_SHAPE)
    return parse_labels(data, source, NUM_CLASSES)


def read_role(path: Path, role: str, known_size: bool = True) -> tuple[bytes, np.ndarray]:
    """(decompressed bytes, parsed array) of one file; with ``known_size``, nothing past the
    published file's size is read or decompressed. Raises :class:`UnreadableDataError` or
    :class:`IDXError`."""
    try:
        data = read_file_bytes(path, SIZES[role] if known_size else MAX_IDX_BYTES, magic_of(role))
    except OSError as exc:
        raise UnreadableDataError(unreadable_message(path, exc)) from exc
    return data, parse(role, data, str(path))


def unreadable_message(path: Path, exc: OSError) -> str:
    reason = exc.strerror or str(exc) or type(exc).__name__
    if isinstance(exc, PermissionError):
        fix = f"give yourself read access (chmod u+r {shlex.quote(str(path))}) or use another copy"
    else:
        fix = "check the disk, or copy the file again"
    return f"{path}: the file is there but cannot be read ({reason}): {fix}"


def check_pair(images: np.ndarray, labels: np.ndarray, images_src: str, labels_src: str) -> None:
    if images.shape[0] != labels.shape[0]:
        raise IDXError(
            f"image and label counts disagree: {images_src} holds {images.shape[0]} images but "
            f"{labels_src} holds {labels.shape[0]} labels: one of the files is damaged or from another set"
        )


def missing_message(dataset: str, directory: Path, names: list[str]) -> str:
    return f"{DISPLAY_NAMES[dataset]} files missing in {directory}: {', '.join(f'{n}[.gz]' for n in names)}"


def read_arrays(
    directory: str | os.PathLike[str], dataset: str = "mnist", verify_checksums: bool = True
) -> dict[str, np.ndarray]:
    """The four arrays from ``directory``: images (N, 28, 28) uint8, labels (N,) uint8 (read-only).

    Checks each file's structure, that images and labels agree in number, then (unless
    ``verify_checksums`` is false) the size and SHA-256 of each decompressed file.
    """
    directory = Path(directory)
    report = presence(dataset, directory, [directory])
    if report["problems"]:
        raise MissingDataError(" ".join(report["problems"]))
    found = find_files(directory)
    raw: dict[str, bytes] = {}
    arrays: dict[str, np.ndarray] = {}
    for role, path in found.items():
        assert path is not None
        raw[role], arrays[role] = read_role(path, role, known_size=verify_checksums)
    for split in ("train", "test"):
        check_pair(
            arrays[f"{split}_images"],
            arrays[f"{split}_labels"],
            str(found[f"{split}_images"]),
            str(found[f"{split}_labels"]),
        )
    if verify_checksums:
        for role, data in raw.items():
            check_content(dataset, role, data, str(found[role]))
    return arrays


def presence(dataset: str, directory: Path, looked_in: list[Path]) -> dict[str, Any]:
    """A :func:`verify`-shaped report from the names alone (nothing is read): each file's status is
    ``present``, ``missing`` or ``not a file``; all missing files make one problem."""
    files: list[dict[str, Any]] = []
    problems: list[str] = []
    for role, path in find_files(directory).items():
        blocker = not_a_file(directory, role) if path is None else None
        status = "present" if path is not None else "not a file" if blocker is not None else "missing"
        files.append(
            {
                "role": role,
                "name": FILES[role],
                "path": str(path or blocker) if (path or blocker) else None,
                "status": status,
                "sha256": None,
                "expected_sha256": SHA256[dataset][role],
                "count": None,
            }
        )
        if blocker is not None:
            problems.append(describe_not_a_file(blocker))
    missing = [entry["name"] for entry in files if entry["status"] == "missing"]
    if missing:
        problems.insert(0, missing_message(dataset, directory, missing))
    return {
        "dataset": dataset,
        "directory": str(directory),
        "looked_in": [str(d) for d in dict.fromkeys(looked_in)],
        "ok": not problems,
        "problems": problems,
        "files": files,
        "splits": None,
    }


def verify(
    data_dir: str | os.PathLike[str] | None = None,
    dataset: str = "mnist",
    validation_size: int = DEFAULT_VALIDATION_SIZE,
) -> dict[str, Any]:
    """Check presence, structure, size and SHA-256 of each file without raising; never downloads.

    Returns ``{"dataset", "directory", "looked_in", "ok", "problems": [str], "files": [{"role",
    "name", "path", "status" ('ok' | 'missing' | 'not a file' | 'unreadable' | 'damaged' |
    'checksum mismatch'), "sha256", "expected_sha256", "count"}], "splits": {"train", "validation",
    "test"} or None}``. All missing files make one problem; every other bad file its own.
    """
    check_dataset(dataset)
    looked_in, _ = search_dirs(data_dir, dataset)
    report = presence(dataset, resolve_data_dir(data_dir, dataset), looked_in)
    problems = report["problems"]
    arrays: dict[str, np.ndarray] = {}
    for entry in report["files"]:
        if entry["status"] != "present":
            continue
        role, path = entry["role"], Path(entry["path"])
        try:
            data, arrays[role] = read_role(path, role)
            entry["count"] = int(arrays[role].shape[0])
            entry["sha256"] = hashlib.sha256(data).hexdigest()
            check_content(dataset, role, data, str(path))
            entry["status"] = "ok"
        except UnreadableDataError as exc:
            entry["status"] = "unreadable"
            problems.append(str(exc))
        except ChecksumError as exc:
            entry["status"] = "checksum mismatch"
            problems.append(str(exc))
        except IDXError as exc:
            entry["status"] = "damaged"
            problems.append(str(exc))
    paths = {entry["role"]: entry["path"] for entry in report["files"]}
    for split in ("train", "test"):
        images, labels = arrays.get(f"{split}_images"), arrays.get(f"{split}_labels")
        if images is not None and labels is not None:
            try:
                check_pair(images, labels, paths[f"{split}_images"], paths[f"{split}_labels"])
            except IDXError as exc:
                problems.append(str(exc))
    if not problems:
        n_train = int(arrays["train_labels"].shape[0])
        if not 0 <= validation_size <= n_train:
            problems.append(f"validation_size must be between 0 and {n_train}, got {validation_size}")
        else:
            report["splits"] = {
                "train": n_train - validation_size,
                "validation": validation_size,
                "test": int(arrays["test_labels"].shape[0]),
            }
    report["ok"] = not problems
    return report


def fix_hint(report: dict[str, Any]) -> str:
    """Where it looked (if files are missing) and what to do, for a :func:`verify` report's problems;
    empty when each problem's message already says it (unreadable, not a file)."""
    statuses = {entry["status"] for entry in report["files"]}
    dataset = report["dataset"]
    looked, fixes = "", []
    if "missing" in statuses:
        looked = f"(looked in: {', '.join(report['looked_in'])}). "
        fixes.append(
            "pass --data-dir DIR (Python: data_dir=DIR) or set BACKPROPLAB_DATA=DIR, with DIR the folder holding "
            "the four files (gzip or raw IDX); or, with internet access, run "
            f"`backproplab data download --dataset {dataset}`"
        )
    if statuses & {"damaged", "checksum mismatch"}:
        fixes.append(
            "to replace the bad files, with internet access, run "
            f"`backproplab data download --force --dataset {dataset}` (or copy good files over them)"
        )
    return f"{looked}Fix: {'; '.join(fixes)}." if fixes else ""
