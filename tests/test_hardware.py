"""Hardware: native-bf16 detection, what `auto` precision and threads become, the warning for
emulated bf16, what metrics.json records, and one-line errors for bad hardware settings."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import pytest
import torch

from backproplab import cli, hardware
from backproplab.dcn import train
from backproplab.mnist_net import run as train_module
from test_dcn_train import small_config, synthetic_mnist


@pytest.fixture
def native(monkeypatch):
    """Make the CPU's bf16 check answer as the test says."""

    def set_answer(answer: bool) -> None:
        monkeypatch.setattr(hardware, "cpu_bf16_native", lambda: answer)

    return set_answer


def _cpuinfo_flags() -> set[str]:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    raise AssertionError("no flags line in /proc/cpuinfo")


def test_native_bf16_check_agrees_with_the_cpu_flags() -> None:
    # An independent reference: the kernel's own list of the CPU's instruction sets.
    flags = _cpuinfo_flags()
    assert hardware.cpu_bf16_native() == bool({"avx512_bf16", "amx_bf16"} & flags)


@pytest.mark.parametrize(
    ("mkldnn", "avx512_bf16", "amx", "expected"),
    [
        (True, True, False, True),  # AVX-512 BF16 (Cooper Lake, Zen 4)
        (True, False, True, True),  # AMX (Sapphire Rapids)
        (True, False, False, False),  # AVX-512 without BF16: oneDNN says yes but only emulates
        (False, True, True, False),  # no oneDNN bf16 kernels at all
    ],
)
def test_native_bf16_needs_the_instructions_not_just_onednn(monkeypatch, mkldnn, avx512_bf16, amx, expected) -> None:
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: mkldnn)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    assert hardware.cpu_bf16_native() is expected


@pytest.mark.parametrize(("answer", "ran"), [(False, "fp32"), (True, "bf16")])
def test_auto_precision_follows_the_bf16_check(native, answer, ran) -> None:
    native(answer)
    used, warning = hardware.resolve("cpu", "auto", "auto", False)
    assert (used.precision, used.bf16_native, warning) == (ran, answer, None)
    assert hardware.resolve("cpu", "fp32", 1, False)[0].precision == "fp32"


def test_explicit_bf16_without_native_support_warns_and_runs(native) -> None:
    native(False)
    used, warning = hardware.resolve("cpu", "bf16", "auto", False)
    assert used.precision == "bf16"
    assert "\n" not in warning and "much slower than fp32" in warning and "AVX-512 BF16 nor AMX" in warning
    native(True)
    assert hardware.resolve("cpu", "bf16", "auto", False) == (hardware.resolve("cpu", "bf16", "auto", False)[0], None)


def test_threads_auto_is_every_usable_core_and_workers_share_them() -> None:
    cores = len(os.sched_getaffinity(0))
    assert hardware.resolve_threads("auto") == hardware.threads_per_worker(1) == cores
    assert hardware.resolve_threads(3) == 3
    assert hardware.resolve_threads(None) == torch.get_num_threads()  # None: leave PyTorch's setting
    assert [hardware.threads_per_worker(w, cores=16) for w in (1, 2, 3, 16, 40)] == [16, 8, 5, 1, 1]
    with pytest.raises(ValueError, match="workers must be a positive whole number"):
        hardware.threads_per_worker(0)


def test_metrics_record_what_ran_and_config_what_was_asked(tmp_path, native) -> None:
    native(False)
    before = torch.get_num_threads()
    metrics = train(small_config(tmp_path, steps=2, threads="auto"), synthetic_mnist(), progress=False)
    out = tmp_path / "run"
    saved = json.loads((out / "metrics.json").read_text())["final"]
    asked = json.loads((out / "config.json").read_text())
    assert (asked["precision"], asked["threads"], asked["deterministic"]) == ("auto", "auto", False)
    assert saved["precision"] == metrics["final"]["precision"] == "fp32"
    assert saved["threads"] == len(os.sched_getaffinity(0)) and saved["device"] == "cpu"
    assert saved["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert saved["cpu_model"] and saved["gpu_name"] is None and saved["bf16_native"] is False
    assert torch.get_num_threads() == before  # the run's thread count does not leak out


def test_auto_runs_bf16_where_native(tmp_path, native) -> None:
    native(True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metrics = train(small_config(tmp_path, steps=2, threads=1), synthetic_mnist(), progress=False)
    assert metrics["final"]["precision"] == "bf16" and metrics["final"]["threads"] == 1


def test_train_warns_once_for_emulated_bf16(tmp_path, native) -> None:
    native(False)
    with pytest.warns(hardware.SlowPrecisionWarning, match="much slower") as caught:
        metrics = train(small_config(tmp_path, steps=1, precision="bf16"), synthetic_mnist(), progress=False)
    assert len(caught) == 1 and metrics["final"]["precision"] == "bf16" and metrics["status"] == "completed"


def test_cli_warning_is_one_line_and_the_run_goes_on(tmp_path, capsys, monkeypatch, native) -> None:
    native(False)
    data = synthetic_mnist()
    monkeypatch.setattr(train_module, "load_data", lambda config, progress=True: data)
    argv = ["dcn", "--quiet", "--out", str(tmp_path / "run"), "--steps", "1", "--batch-size", "10"]
    assert cli.main([*argv, "--precision", "bf16", "--threads", "1"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("backproplab dcn: warning: --precision bf16: this CPU")
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["final"]["threads"] == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--threads", "0"], "--threads: must be a positive whole number or auto, got 0"),
        (["--threads", "many"], "--threads: must be a positive whole number or auto, got 'many'"),
        (["--precision", "fp16"], "--precision: unknown precision 'fp16'; choose one of: auto, fp32, bf16"),
        (["--device", "cuda"], "--device: 'cuda' asked for but no CUDA GPU is available; use --device cpu"),
    ],
)
def test_cli_bad_hardware_settings_one_line(tmp_path, capsys, monkeypatch, argv, message) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # also on a machine with a GPU
    rc = cli.main(["dcn", "--quiet", "--out", str(tmp_path / "run"), "--data-dir", str(tmp_path), *argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0] == f"backproplab dcn: error: {message}"
    assert not (tmp_path / "run").exists()


def test_describe_names_the_machine(native) -> None:
    native(False)
    used, _ = hardware.resolve("cpu", "auto", 2, False)
    line = used.describe()
    assert used.cpu_model in line and used.cpu_capability in line and "bf16 not native" in line
    assert "2 threads" in line and "fp32 on cpu" in line
