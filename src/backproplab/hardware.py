"""What this machine can do, and the precision, thread count and device settings a run uses on it.

The ``auto`` settings are resolved here, once per run, from what torch itself reports:

- precision ``auto``: bfloat16 autocast only where the hardware does bf16 arithmetic natively, fp32
  everywhere else. On a CPU that means AVX-512 BF16 or AMX (``torch.cpu._is_avx512_bf16_supported``,
  ``torch.cpu._is_amx_tile_supported``) with oneDNN's bf16 kernels available
  (``torch.ops.mkldnn._is_mkldnn_bf16_supported``); without them oneDNN emulates bf16 and a step of the
  DCN takes about 12x as long as at fp32 (measured on an AVX2 AMD EPYC). On a GPU it means bf16 units
  (compute capability 8.0 and later: ``torch.cuda.is_bf16_supported(including_emulation=False)``).
- threads ``auto``: every core this process may run on, for one run; a runner of parallel runs gives
  each :func:`threads_per_worker`.

torch is imported inside the functions: the command line imports this module to build its help.
"""

from __future__ import annotations

import contextlib
import os
import platform
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

#: The cuBLAS workspace setting under which its matrix products are reproducible (NVIDIA's docs).
_CUBLAS_DETERMINISTIC = ":4096:8"


class SlowPrecisionWarning(UserWarning):
    """An explicit ``--precision bf16`` on hardware that only emulates bfloat16."""


@dataclass(frozen=True)
class Hardware:
    """The settings a run actually used (for ``metrics.json``): what ``auto`` became on this machine.

    ``device``: "cpu" or "cuda:N"; ``precision``: "fp32" or "bf16"; ``threads``: PyTorch's CPU threads;
    ``cpu_capability``: torch's name for the CPU's vector instructions ("AVX2", "AVX512", ...);
    ``bf16_native``: whether the device does bf16 natively; ``gpu_name``: None on a CPU.
    """

    device: str
    precision: str
    threads: int
    deterministic: bool
    cpu_model: str
    cpu_capability: str
    bf16_native: bool
    gpu_name: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        """One line naming the machine, e.g. ``CPU AMD EPYC (AVX2, bf16 not native), 2 threads, fp32``."""
        bf16 = "bf16 native" if self.bf16_native else "bf16 not native"
        cpu = f"CPU {self.cpu_model} ({self.cpu_capability}"
        where = f"GPU {self.gpu_name} ({bf16}), {cpu})" if self.gpu_name else f"{cpu}, {bf16})"
        extra = ", deterministic" if self.deterministic else ""
        threads = f"{self.threads} thread{'s' if self.threads != 1 else ''}"
        return f"{where}, {threads}, {self.precision} on {self.device}{extra}"


# ----------------------------------------------------------------------------- the CPU


def cpu_model() -> str:
    """The CPU's marketing name (``model name`` in /proc/cpuinfo), else what ``platform`` knows."""
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return " ".join(line.partition(":")[2].split())
    return platform.processor() or platform.machine() or "unknown CPU"


def cpu_capability() -> str:
    """torch's name for the vector instructions it uses on this CPU: "DEFAULT", "AVX2", "AVX512", ..."""
    import torch

    return str(torch.backends.cpu.get_cpu_capability())


def cpu_bf16_native() -> bool:
    """True when this CPU does bf16 arithmetic in hardware (AVX-512 BF16 or AMX) and oneDNN has bf16 kernels.

    ``_is_mkldnn_bf16_supported`` alone is not enough: it also says yes on AVX-512 CPUs without BF16,
    where oneDNN converts to fp32 and back around every operation.
    """
    import torch

    if not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        return False
    cpu = torch.cpu
    return bool(cpu._is_avx512_bf16_supported() or cpu._is_amx_tile_supported())


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity; all of the machine's where that is unknown)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def threads_per_worker(workers: int = 1, cores: int | None = None) -> int:
    """PyTorch threads for each of ``workers`` runs sharing the machine: the usable cores divided
    evenly (at least 1). ``threads_per_worker(1)`` is what ``--threads auto`` means."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive whole number, got {workers!r}")
    return max(1, (usable_cores() if cores is None else cores) // workers)


def resolve_threads(asked: int | str | None) -> int:
    """``auto`` -> every usable core; None -> PyTorch's current setting; a positive whole number -> itself."""
    if asked is None:
        import torch

        return torch.get_num_threads()
    return threads_per_worker(1) if asked == "auto" else int(asked)


# ----------------------------------------------------------------------------- numpy's vector path


#: What numpy reads to switch dispatched vector kernels off (numpy's "CPU build options" docs).
NUMPY_DISABLE_VARIABLE = "NPY_DISABLE_CPU_FEATURES"


def _numpy_simd_tables() -> tuple[list[str], list[str], dict[str, bool]]:
    try:  # numpy 2
        from numpy._core import _multiarray_umath as umath
    except ImportError:  # numpy 1.26
        from numpy.core import _multiarray_umath as umath
    return list(umath.__cpu_baseline__), list(umath.__cpu_dispatch__), dict(umath.__cpu_features__)


def numpy_vector_path() -> list[str]:
    """numpy's dispatch targets in use in this process, lowest first (e.g. ``["X86_V3", "X86_V4", ...]``).

    Kernels such as ``tanh`` and ``exp`` round their last bit differently on each target, so a long run
    (20,000 passes) can end differently in its third digit; an empty list means the baseline kernels only.
    A target switched off by ``NPY_DISABLE_CPU_FEATURES`` is not in use.
    """
    _, dispatch, features = _numpy_simd_tables()
    return [target for target in dispatch if features.get(target, False)]


def describe_numpy_vector_path() -> str:
    """One line, e.g. ``numpy 2.4.6: baseline X86_V2, dispatch X86_V3 X86_V4 AVX512_ICL AVX512_SPR``."""
    import numpy

    baseline, _, _ = _numpy_simd_tables()
    used = numpy_vector_path()
    return f"numpy {numpy.__version__}: baseline {' '.join(baseline) or 'none'}, dispatch {' '.join(used) or 'none'}"


def _is_avx512(target: str) -> bool:
    return target.startswith("AVX512") or target == "X86_V4"


def lower_vector_path() -> list[str]:
    """The targets to switch off (``NPY_DISABLE_CPU_FEATURES``) for the next lower path numpy has here.

    With AVX-512 in use: every AVX-512 target, which leaves the AVX2 path that AVX2-only CPUs run. Else
    every target in use, which leaves the baseline (SSE4.2 on x86-64). Empty: no lower path here.
    """
    used = numpy_vector_path()
    avx512 = [target for target in used if _is_avx512(target)]
    return avx512 or used


# ----------------------------------------------------------------------------- the GPU


def gpu_name(device: str) -> str:
    import torch

    return str(torch.cuda.get_device_name(torch.device(device)))


def gpu_bf16_native(device: str) -> bool:
    """True on GPUs with bf16 units (NVIDIA compute capability 8.0 and later, or ROCm's equivalent)."""
    import torch

    with torch.cuda.device(torch.device(device)):
        return bool(torch.cuda.is_bf16_supported(including_emulation=False))


def bf16_native(device: str) -> bool:
    """Whether ``device`` ("cpu", "cuda", "cuda:N") does bfloat16 natively."""
    return gpu_bf16_native(device) if device.startswith("cuda") else cpu_bf16_native()


# ----------------------------------------------------------------------------- resolution


def resolve_precision(asked: str, device: str, native: bool | None = None) -> tuple[str, str | None]:
    """(precision to run, warning or None) for ``asked`` in auto / fp32 / bf16 on ``device``.

    ``native``: the answer of :func:`bf16_native` when already known.
    """
    native = bf16_native(device) if native is None else native
    if asked == "auto":
        return ("bf16" if native else "fp32"), None
    if asked == "bf16" and not native:
        where = (
            f"GPU {gpu_name(device)} has no bf16 units"
            if device.startswith("cuda")
            else f"CPU ({cpu_capability()}) has neither AVX-512 BF16 nor AMX"
        )
        return "bf16", (
            f"--precision bf16: this {where}, so bfloat16 is emulated and training will be much slower than fp32 "
            "(about 12x on an AVX2 CPU); use --precision auto or fp32"
        )
    return asked, None


def cuda_index(device: str) -> str:
    """``cuda`` -> ``cuda:<current device>``, so that metrics name the GPU that ran."""
    import torch

    return f"cuda:{torch.cuda.current_device()}" if device == "cuda" else device


def resolve(device: str, precision: str, threads: int | str | None, deterministic: bool) -> tuple[Hardware, str | None]:
    """What a run asking for these settings will use here, and the warning to show first (or None).

    The settings are assumed valid (``TrainConfig.validate``).
    """
    gpu = device.startswith("cuda")
    if gpu:
        device = cuda_index(device)
    native = bf16_native(device)
    ran, warning = resolve_precision(precision, device, native)
    hardware = Hardware(
        device=device,
        precision=ran,
        threads=resolve_threads(threads),
        deterministic=bool(deterministic),
        cpu_model=cpu_model(),
        cpu_capability=cpu_capability(),
        bf16_native=native,
        gpu_name=gpu_name(device) if gpu else None,
    )
    return hardware, warning


@contextlib.contextmanager
def applied(hardware: Hardware) -> Iterator[None]:
    """Set PyTorch's thread count and (non)deterministic algorithms for one run; restore them after.

    Deterministic mode: ``torch.use_deterministic_algorithms`` (warning, not failing, on an operation
    without a deterministic version), cuDNN's deterministic algorithms, and cuBLAS's reproducible
    workspace (``CUBLAS_WORKSPACE_CONFIG``, set when not already set: it must precede cuBLAS's first use
    in the process). On a CPU our operations are already reproducible for a given thread count.
    """
    import torch

    cudnn = torch.backends.cudnn
    before = (
        torch.get_num_threads(),
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        cudnn.deterministic,
        cudnn.benchmark,
    )
    torch.set_num_threads(hardware.threads)
    if hardware.deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", _CUBLAS_DETERMINISTIC)
        torch.use_deterministic_algorithms(True, warn_only=True)
        cudnn.deterministic, cudnn.benchmark = True, False
    try:
        yield
    finally:
        threads, enabled, warn_only, cudnn.deterministic, cudnn.benchmark = before
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(enabled, warn_only=warn_only)
