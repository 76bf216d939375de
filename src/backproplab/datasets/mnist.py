"""MNIST and Fashion-MNIST: find, download, verify and load the IDX files; split them; serve batches.

    from backproplab.datasets import mnist
    data = mnist.load()                      # or load(data_dir=..., dataset="fashion-mnist", seed=1)
    data.train.images                        # (55000, 784) float32 in [0, 1]
    data.train.labels                        # (55000,) int64
    x, y = data.train.next_batch(50)         # seeded shuffled order, reshuffled every epoch

The split is TensorFlow's classic ``input_data.read_data_sets``: validation = the FIRST
``validation_size`` training images, train = the rest, test = the 10,000 t10k images.

Where the files are looked for (the first folder holding all four wins):

1. ``data_dir`` (``--data-dir``): the folder holding the four files, or a parent holding a
   ``mnist/`` or ``fashion-mnist/`` subfolder.
2. else ``BACKPROPLAB_DATA``: for MNIST the folder of the four files or a parent with ``mnist/``;
   for Fashion-MNIST its ``fashion-mnist/`` subfolder. An empty value counts as unset.
3. else (and for Fashion-MNIST also after 2.) the system folder ``/usr/share/datasets/fashion-mnist``
   (Debian's ``dataset-fashion-mnist``) and the per-user cache
   ``$XDG_CACHE_HOME/backproplab/<dataset>`` (default ``~/.cache/backproplab/<dataset>``).

Files may be gzip-compressed (``*.gz``) or raw IDX. Missing files are downloaded from public mirrors
(tried in turn) into the first writable folder of that list unless ``download=False`` or
``BACKPROPLAB_OFFLINE=1``. Every file is checked against the SHA-256 of its decompressed content.
Nothing is cached besides the files themselves, so nothing can go stale.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from backproplab.datasets.idx import GZIP_MAGIC, IDXError, decode_bytes, parse_images, parse_labels, read_file_bytes
from backproplab.errors import UsageError
from backproplab.io import write_bytes
from backproplab.progress import progress_bar

DATASETS = ("mnist", "fashion-mnist")
DISPLAY_NAMES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}
DEFAULT_VALIDATION_SIZE = 5000
IMAGE_SHAPE = (28, 28)
NUM_CLASSES = 10
ENV_VAR = "BACKPROPLAB_DATA"
OFFLINE_ENV_VAR = "BACKPROPLAB_OFFLINE"
SYSTEM_DIRS = {"fashion-mnist": Path("/usr/share/datasets/fashion-mnist")}

# The four files, by role, without the .gz suffix (both data sets use the same names).
FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

# SHA-256 of each DECOMPRESSED file: it holds for every copy, however the archive was compressed.
# MNIST: the published values (shared/data/mnist/README.md). Fashion-MNIST: the values listed by
# several independent public projects, derived from the archives whose MD5s the publisher lists,
# and reproduced from Debian's dataset-fashion-mnist package.
SHA256 = {
    "mnist": {
        "train_images": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train_labels": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "test_images": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "test_labels": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    "fashion-mnist": {
        "train_images": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train_labels": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "test_images": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "test_labels": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
}

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


class MissingDataError(UsageError, FileNotFoundError):
    """Data files that are not there and could not be downloaded (the message says how to fix it)."""


class ChecksumError(IDXError):
    """A well-formed file whose content is not the published one."""


# ----------------------------------------------------------------------------------------------
# Batches


class DataSet:
    """Images and labels with a seeded, reshuffling mini-batch iterator.

    images: (N, 784) float32 in [0, 1]; labels: (N,) int64. ``next_batch`` walks a random
    permutation; a batch that crosses the end of an epoch takes the rest of the old order and the
    start of a new one (TensorFlow's classic behaviour), so each epoch serves every example once.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, seed: int | np.random.SeedSequence = 0):
        images = np.asarray(images)
        labels = np.asarray(labels)
        if images.ndim != 2 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
            raise ValueError(f"DataSet needs images (N, D) and labels (N,), got {images.shape} and {labels.shape}")
        self.images = images
        self.labels = labels
        self._rng = np.random.default_rng(seed)
        self._perm = self._rng.permutation(self.num_examples)
        self._index = 0
        self._epochs_completed = 0

    @property
    def num_examples(self) -> int:
        return int(self.labels.shape[0])

    @property
    def epochs_completed(self) -> int:
        """Epochs of which every example has been served."""
        return self._epochs_completed

    @property
    def index_in_epoch(self) -> int:
        return self._index

    def __len__(self) -> int:
        return self.num_examples

    def __repr__(self) -> str:
        return (
            f"DataSet(num_examples={self.num_examples}, image_size={self.images.shape[1]}, "
            f"epochs_completed={self._epochs_completed})"
        )

    def next_batch(self, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """The next ``batch_size`` examples: images (B, D) float32, labels (B,) int64 (copies)."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer):
            raise ValueError(f"batch_size must be an integer, got {batch_size!r}")
        n = self.num_examples
        if not 0 < batch_size <= n:
            raise ValueError(f"batch_size must be between 1 and the number of examples ({n}), got {batch_size}")
        start, end = self._index, self._index + int(batch_size)
        if end <= n:
            idx = self._perm[start:end]
            self._index = end
        else:
            rest = self._perm[start:]
            self._new_epoch()
            self._index = end - n
            idx = np.concatenate([rest, self._perm[: self._index]])
        if self._index == n:
            self._new_epoch()
        return self.images[idx], self.labels[idx]

    def _new_epoch(self) -> None:
        self._epochs_completed += 1
        self._perm = self._rng.permutation(self.num_examples)
        self._index = 0

    def state_dict(self) -> dict[str, Any]:
        """The iterator's state (plain Python values: safe for JSON and ``torch.save``)."""
        return {
            "num_examples": self.num_examples,
            "rng": self._rng.bit_generator.state,
            "permutation": self._perm.tolist(),
            "index": self._index,
            "epochs_completed": self._epochs_completed,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue exactly where the iterator that produced ``state`` (:meth:`state_dict`) was."""
        try:
            n = int(state["num_examples"])
            perm = np.asarray(state["permutation"], dtype=np.int64)
            index = int(state["index"])
            epochs = int(state["epochs_completed"])
            rng_state = dict(state["rng"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a DataSet state (from DataSet.state_dict()): {exc!r}") from exc
        if n != self.num_examples:
            raise ValueError(f"the state is for {n} examples, this data set has {self.num_examples}")
        if perm.shape != (n,) or not np.array_equal(np.sort(perm), np.arange(n)):
            raise ValueError("the state's permutation is not a permutation of the examples")
        if not 0 <= index <= n or epochs < 0:
            raise ValueError(f"the state's position is out of range (index {index}, epochs {epochs})")
        rng = np.random.default_rng()
        if rng_state.get("bit_generator") != type(rng.bit_generator).__name__:
            raise ValueError(f"the state's generator is {rng_state.get('bit_generator')!r}, expected PCG64")
        try:
            rng.bit_generator.state = rng_state
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"the state's generator state is damaged: {exc!r}") from exc
        self._rng, self._perm, self._index, self._epochs_completed = rng, perm, index, epochs


@dataclass(frozen=True)
class Datasets:
    """The three splits: train (60000 - validation_size), validation, test (10000)."""

    train: DataSet
    validation: DataSet
    test: DataSet


# ----------------------------------------------------------------------------------------------
# Where the files are


def _check_dataset(dataset: str) -> str:
    if dataset not in DATASETS:
        raise UsageError(f"unknown data set {dataset!r}: choose one of {', '.join(DATASETS)}")
    return dataset


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser() if value else None


def default_cache_dir(dataset: str = "mnist") -> Path:
    """The per-user download folder: ``$XDG_CACHE_HOME/backproplab/<dataset>`` (or ``~/.cache/...``)."""
    base = _env_path("XDG_CACHE_HOME") or Path.home() / ".cache"
    return base / "backproplab" / _check_dataset(dataset)


def file_candidates(directory: Path, role: str) -> tuple[Path, Path]:
    """The two names a file may have in ``directory``: raw IDX first, then gzip."""
    name = FILES[role]
    return directory / name, directory / f"{name}.gz"


def find_files(directory: str | os.PathLike[str]) -> dict[str, Path | None]:
    """Each role's file in ``directory`` (raw preferred over .gz), or None when absent."""
    directory = Path(directory)
    found: dict[str, Path | None] = {}
    for role in FILES:
        found[role] = next((p for p in file_candidates(directory, role) if p.is_file()), None)
    return found


def _holds_any(directory: Path) -> bool:
    return any(p.is_file() for role in FILES for p in file_candidates(directory, role))


def search_dirs(data_dir: str | os.PathLike[str] | None, dataset: str = "mnist") -> tuple[list[Path], Path]:
    """(folders to look in, in order; the folder a download goes to). See the module docstring."""
    _check_dataset(dataset)
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


def _missing_message(dataset: str, directory: Path, looked_in: list[Path], reasons: list[str]) -> str:
    missing = [name for role, name in FILES.items() if find_files(directory)[role] is None]
    where = ", ".join(str(d) for d in dict.fromkeys(looked_in))
    parts = [
        f"{DISPLAY_NAMES[dataset]} files missing in {directory}: {', '.join(f'{m}[.gz]' for m in missing)}",
        f"(looked in: {where}).",
    ]
    if reasons:
        parts.append(f"Download failed: {'; '.join(reasons)}.")
    else:
        parts.append("Download skipped (download=False or BACKPROPLAB_OFFLINE set).")
    parts.append(
        "Fix: pass --data-dir DIR (Python: data_dir=DIR) or set BACKPROPLAB_DATA=DIR, with DIR the folder "
        "holding the four files (gzip or raw IDX); or, with internet access, run "
        f"`backproplab data download --dataset {dataset}`."
    )
    return " ".join(parts)


# ----------------------------------------------------------------------------------------------
# Reading and checking


def _check_content(dataset: str, role: str, data: bytes, source: str) -> str:
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


def _parse(role: str, data: bytes, source: str) -> np.ndarray:
    if role.endswith("_images"):
        return parse_images(data, source, IMAGE_SHAPE)
    return parse_labels(data, source, NUM_CLASSES)


def _check_pair(images: np.ndarray, labels: np.ndarray, images_src: str, labels_src: str) -> None:
    if images.shape[0] != labels.shape[0]:
        raise IDXError(
            f"image and label counts disagree: {images_src} holds {images.shape[0]} images but "
            f"{labels_src} holds {labels.shape[0]} labels: one of the files is damaged or from another set"
        )


def read_arrays(
    directory: str | os.PathLike[str], dataset: str = "mnist", verify_checksums: bool = True
) -> dict[str, np.ndarray]:
    """The four arrays from ``directory``: images (N, 28, 28) uint8, labels (N,) uint8 (read-only).

    Checks each file's structure, that images and labels agree in number, then (unless
    ``verify_checksums`` is false) the SHA-256 of each decompressed file.
    """
    found = find_files(directory)
    missing = [FILES[role] for role, path in found.items() if path is None]
    if missing:
        raise MissingDataError(f"missing in {directory}: {', '.join(missing)} (or .gz)")
    raw: dict[str, bytes] = {}
    arrays: dict[str, np.ndarray] = {}
    for role, path in found.items():
        assert path is not None
        raw[role] = read_file_bytes(path)
        arrays[role] = _parse(role, raw[role], str(path))
    for split in ("train", "test"):
        _check_pair(
            arrays[f"{split}_images"],
            arrays[f"{split}_labels"],
            str(found[f"{split}_images"]),
            str(found[f"{split}_labels"]),
        )
    if verify_checksums:
        for role, data in raw.items():
            _check_content(dataset, role, data, str(found[role]))
    return arrays


def load(
    data_dir: str | os.PathLike[str] | None = None,
    validation_size: int = DEFAULT_VALIDATION_SIZE,
    dataset: str = "mnist",
    seed: int = 0,
    *,
    download: bool = True,
    verify_checksums: bool = True,
    progress: bool = True,
) -> Datasets:
    """Load ``dataset`` split into train / validation / test, downloading missing files if allowed.

    Images: (N, 784) float32 in [0, 1] (byte / 255, correctly rounded), row-major 28x28; labels: (N,) int64.
    ``seed`` fixes the batch order of the three splits (train uses ``SeedSequence(seed)``'s first child).
    ``verify_checksums=False`` accepts IDX files that are not the published ones (your own data in
    the MNIST layout); their structure is still checked.
    """
    _check_dataset(dataset)
    if isinstance(validation_size, bool) or not isinstance(validation_size, int | np.integer):
        raise UsageError(f"validation_size must be an integer, got {validation_size!r}")
    directory = resolve_data_dir(data_dir, dataset)
    if not all(find_files(directory).values()):
        directory = fetch(data_dir, dataset, download=download, progress=progress)
    arrays = read_arrays(directory, dataset, verify_checksums)
    n_train = arrays["train_labels"].shape[0]
    if not 0 <= validation_size <= n_train:
        raise UsageError(
            f"validation_size must be between 0 and {n_train} (the training images), got {validation_size}"
        )

    def as_float(images: np.ndarray) -> np.ndarray:
        out = images.reshape(images.shape[0], -1).astype(np.float32)
        out /= np.float32(255.0)  # division: each pixel is k/255 correctly rounded
        return out

    train_x, test_x = as_float(arrays["train_images"]), as_float(arrays["test_images"])
    train_y = arrays["train_labels"].astype(np.int64)
    test_y = arrays["test_labels"].astype(np.int64)
    seeds = np.random.SeedSequence(seed).spawn(3)
    return Datasets(
        train=DataSet(train_x[validation_size:], train_y[validation_size:], seeds[0]),
        validation=DataSet(train_x[:validation_size], train_y[:validation_size], seeds[1]),
        test=DataSet(test_x, test_y, seeds[2]),
    )


def verify(
    data_dir: str | os.PathLike[str] | None = None,
    dataset: str = "mnist",
    validation_size: int = DEFAULT_VALIDATION_SIZE,
) -> dict[str, Any]:
    """Check presence, structure and SHA-256 of each file without raising; never downloads.

    Returns ``{"dataset", "directory", "looked_in", "ok", "problems": [str], "files": [{"role",
    "name", "path", "status" ('ok' | 'missing' | 'damaged' | 'checksum mismatch'), "sha256",
    "expected_sha256", "count"}], "splits": {"train", "validation", "test"} or None}``.
    """
    _check_dataset(dataset)
    looked_in, _ = search_dirs(data_dir, dataset)
    directory = resolve_data_dir(data_dir, dataset)
    found = find_files(directory)
    files: list[dict[str, Any]] = []
    problems: list[str] = []
    arrays: dict[str, np.ndarray] = {}
    for role, path in found.items():
        entry: dict[str, Any] = {
            "role": role,
            "name": FILES[role],
            "path": str(path) if path else None,
            "status": "missing",
            "sha256": None,
            "expected_sha256": SHA256[dataset][role],
            "count": None,
        }
        files.append(entry)
        if path is None:
            continue
        try:
            data = read_file_bytes(path)
            arrays[role] = _parse(role, data, str(path))
            entry["count"] = int(arrays[role].shape[0])
            entry["sha256"] = hashlib.sha256(data).hexdigest()
            _check_content(dataset, role, data, str(path))
            entry["status"] = "ok"
        except ChecksumError as exc:
            entry["status"] = "checksum mismatch"
            problems.append(str(exc))
        except (IDXError, OSError) as exc:
            entry["status"] = "damaged"
            problems.append(str(exc))
    missing = [f"{entry['name']}[.gz]" for entry in files if entry["status"] == "missing"]
    if missing:
        problems.insert(0, f"{DISPLAY_NAMES[dataset]} files missing in {directory}: {', '.join(missing)}")
    for split in ("train", "test"):
        images, labels = arrays.get(f"{split}_images"), arrays.get(f"{split}_labels")
        if images is not None and labels is not None:
            try:
                _check_pair(images, labels, str(found[f"{split}_images"]), str(found[f"{split}_labels"]))
            except IDXError as exc:
                problems.append(str(exc))
    splits = None
    if not problems:
        n_train = int(arrays["train_labels"].shape[0])
        if not 0 <= validation_size <= n_train:
            problems.append(f"validation_size must be between 0 and {n_train}, got {validation_size}")
        else:
            splits = {
                "train": n_train - validation_size,
                "validation": validation_size,
                "test": int(arrays["test_labels"].shape[0]),
            }
    return {
        "dataset": dataset,
        "directory": str(directory),
        "looked_in": [str(d) for d in dict.fromkeys(looked_in)],
        "ok": not problems,
        "problems": problems,
        "files": files,
        "splits": splits,
    }


# ----------------------------------------------------------------------------------------------
# Downloading


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
            data = decode_bytes(body, url)
            _parse(role, data, url)
            _check_content(dataset, role, data, url)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            failures.append(reason if reason.startswith(url) else f"{url}: {reason}")
            continue
        # Verified in memory: only now does anything appear on disk, and atomically.
        return write_bytes(target / (f"{name}.gz" if body[:2] == GZIP_MAGIC else name), body), failures
    return None, failures


def _offline() -> bool:
    return os.environ.get(OFFLINE_ENV_VAR, "").strip().lower() not in ("", "0", "false", "no")


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
    :class:`MissingDataError` (which files, where it looked, how to fix it) when that fails.
    """
    _check_dataset(dataset)
    looked_in, _ = search_dirs(data_dir, dataset)
    directory = resolve_data_dir(data_dir, dataset)  # complete folder, else the download target
    if force:
        todo = [f["role"] for f in verify(directory, dataset)["files"] if f["status"] != "ok"]
    else:
        todo = [role for role, path in find_files(directory).items() if path is None]
    if not todo:
        return directory
    if not download or _offline():
        raise MissingDataError(_missing_message(dataset, directory, looked_in, []))
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
        raise MissingDataError(_missing_message(dataset, directory, looked_in, reasons))
    return directory
