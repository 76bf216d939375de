"""Fetching missing (or, with ``force``, bad) files from public mirrors, verified before writing.

Each archive is downloaded into memory (at most :data:`MAX_DOWNLOAD_BYTES`), decompressed no further
than the file's known size, parsed and checked against its SHA-256; only then is it written,
atomically. Mirrors are tried in turn. ``download=False`` or ``BACKPROPLAB_OFFLINE=1`` skip the
network entirely.
"""

from __future__ import annotations

import http.client
import os
import urllib.request
from pathlib import Path
from typing import Any

from backproplab.datasets.idx import GZIP_MAGIC, decode_bytes
from backproplab.datasets.mnist.catalog import FILES, SIZES, check_dataset
from backproplab.datasets.mnist.locate import describe_not_a_file, file_candidates, resolve_data_dir, search_dirs
from backproplab.datasets.mnist.verify import (
    DataError,
    MissingDataError,
    check_content,
    fix_hint,
    magic_of,
    parse,
    presence,
    verify,
)
from backproplab.io import write_bytes
from backproplab.progress import progress_bar

OFFLINE_ENV_VAR = "BACKPROPLAB_OFFLINE"

# Public mirrors of the .gz archives, tried in this order.
MIRRORS = {
    "mnist": (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
    "fashion-mnist": (
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
}
DOWNLOAD_TIMEOUT_S = 30.0
MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024  # the largest archive is 26 MB; stop a runaway response
_CHUNK = 1 << 16


def _open_url(url: str, timeout: float) -> Any:
    """Open ``url`` for reading (the one function that touches the network; tests replace it)."""
    request = urllib.request.Request(url, headers={"User-Agent": "backproplab (dataset download)"})
    return urllib.request.urlopen(request, timeout=timeout)


def _fetch_url(url: str, progress: bool, desc: str) -> bytes:
    with _open_url(url, DOWNLOAD_TIMEOUT_S) as response:
        length = response.headers.get("Content-Length") if getattr(response, "headers", None) else None
        total = int(length) if length and str(length).isdigit() else 0
        bar = progress_bar(total or None, enabled=progress, desc=desc, unit="B", unit_scale=True, leave=False)
        chunks: list[bytes] = []
        size = 0
        try:
            while chunk := response.read(_CHUNK):
                size += len(chunk)
                if size > MAX_DOWNLOAD_BYTES:
                    raise OSError(f"response larger than {MAX_DOWNLOAD_BYTES} bytes")
                chunks.append(chunk)
                if bar is not None:
                    bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()
    body = b"".join(chunks)
    if total and len(body) != total:
        raise OSError(f"incomplete download: {len(body)} of {total} bytes")
    return body


def _download_one(dataset: str, role: str, target: Path, progress: bool) -> tuple[Path | None, list[str]]:
    """Try each mirror for one file; write the verified archive atomically. (path or None, failures)."""
    name = FILES[role]
    failures: list[str] = []
    for mirror in MIRRORS[dataset]:
        url = f"{mirror}{name}.gz"
        try:
            body = _fetch_url(url, progress, desc=f"{name}.gz")
            data = decode_bytes(body, url, SIZES[role], magic_of(role))
            parse(role, data, url)
            check_content(dataset, role, data, url)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            failures.append(reason if reason.startswith(url) else f"{url}: {reason}")
            continue
        # Verified in memory: only now does anything appear on disk, and atomically.
        return write_bytes(target / (f"{name}.gz" if body[:2] == GZIP_MAGIC else name), body), failures
    return None, failures


def offline() -> bool:
    """True when ``BACKPROPLAB_OFFLINE`` is set to anything but empty, 0, false or no."""
    return os.environ.get(OFFLINE_ENV_VAR, "").strip().lower() not in ("", "0", "false", "no")


def _unavailable(report: dict[str, Any], reasons: list[str]) -> DataError:
    """The error for files that are still not usable: each problem, what the download did, the fix;
    a :class:`MissingDataError` when files are missing."""
    parts = ["; ".join(report["problems"]) + "."]
    if reasons:
        parts.append(f"Download failed: {'; '.join(reasons)}.")
    else:
        parts.append(f"Download skipped (download=False or {OFFLINE_ENV_VAR} set).")
    parts.append(fix_hint(report))
    missing = any(entry["status"] == "missing" for entry in report["files"])
    return (MissingDataError if missing else DataError)(" ".join(parts).strip())


def fetch(
    data_dir: str | os.PathLike[str] | None = None,
    dataset: str = "mnist",
    *,
    download: bool = True,
    progress: bool = True,
    force: bool = False,
) -> Path:
    """Make sure the four files are present; download what is missing. Returns their folder.

    With ``force``, files that are present but fail their check are downloaded again too. Raises
    :class:`MissingDataError` (which files and what is wrong with each, where it looked, how to fix
    it) when that fails.
    """
    check_dataset(dataset)
    looked_in, _ = search_dirs(data_dir, dataset)
    directory = resolve_data_dir(data_dir, dataset)  # complete folder, else the download target

    def examine() -> dict[str, Any]:  # with force, every file is read and checked; else only named
        report = verify(directory, dataset) if force else presence(dataset, directory, looked_in)
        report["looked_in"] = [str(d) for d in dict.fromkeys(looked_in)]
        return report

    report = examine()
    todo = [entry["role"] for entry in report["files"] if entry["status"] not in ("ok", "present")]
    if not todo:
        return directory
    blocked = [entry for entry in report["files"] if entry["status"] == "not a file"]
    if blocked:  # a download cannot put a file where a folder stands
        raise MissingDataError(" ".join(describe_not_a_file(Path(entry["path"])) for entry in blocked))
    if not download or offline():
        raise _unavailable(report, [])
    reasons: list[str] = []
    for role in todo:
        path, failures = _download_one(dataset, role, directory, progress)
        if path is None:
            reasons.extend(failures)
            break
        # A stale file under the other name (raw vs .gz) would shadow the fresh one.
        for other in file_candidates(directory, role):
            if other != path and other.is_file():
                other.unlink()
    if reasons:
        raise _unavailable(examine(), reasons)
    return directory
