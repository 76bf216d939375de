"""Mutation testing (``make mutants``): how many small bugs in the modules where a wrong number would
mislead a learner the fast tests catch, per module, with mutmut.

Each group below is a set of modules and the fast tests that cover them. A group runs in its own copy of
the checkout, ``build/mutants/<group>/``, whose ``pyproject.toml`` gains a ``[tool.mutmut]`` table naming
them; mutmut then runs, for each mutant, only the tests that reach the mutated function. Prints killed /
survived / timed out (and mutants no test reaches) per module, with the machine and the date, for the
results page (docs/results.md). ``mutmut browse`` or ``mutmut show NAME`` inside a group's folder shows
the survivors.

    python benchmarks/mutants.py                         # every group (about 7,600 mutants: hours on 2 cores)
    python benchmarks/mutants.py report_html sweep_stats # some groups
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "build" / "mutants"

#: group -> (files to mutate, the fast tests that cover them)
GROUPS: dict[str, tuple[list[str], list[str]]] = {
    "scratch": (
        ["src/backproplab/scratch/*", "src/backproplab/numpy_dcn/*"],
        [
            "tests/test_activations.py",
            "tests/test_layer.py",
            "tests/test_three_layer.py",
            "tests/test_deep.py",
            "tests/test_trainer.py",
            "tests/test_optimizers.py",
            "tests/test_conv_layers.py",
            "tests/test_reductions.py",
            "tests/test_convnet_equivalence.py",
            "tests/test_convnet_training.py",
        ],
    ),
    "dcn": (
        ["src/backproplab/dcn/model.py", "src/backproplab/dcn/training.py", "src/backproplab/mnist_net/*"],
        [
            "tests/test_dcn_model.py",
            "tests/test_dcn_device.py",
            "tests/test_dcn_train.py",
            "tests/test_engine_settings.py",
        ],
    ),
    "monitoring": (
        ["src/backproplab/monitoring.py"],
        ["tests/test_monitoring.py", "tests/test_trainer.py", "tests/test_dcn_train.py"],
    ),
    "runs": (["src/backproplab/runs.py"], ["tests/test_runs.py", "tests/test_dcn_train.py"]),
    "report_html": (["src/backproplab/report/html.py"], ["tests/test_report_html.py"]),
    "sweep_stats": (["src/backproplab/sweeps/stats.py"], ["tests/test_sweep_stats.py"]),
    "sweep_figures": (["src/backproplab/sweeps/figures.py"], ["tests/test_sweep_figures.py"]),
}

#: Copied into each group's folder: the code, the tests and what the tests read.
COPIED = ("src", "tests", "README.md", "pyproject.toml")


def prepare(group: str) -> Path:
    """A fresh copy of the checkout for ``group``, its ``[tool.mutmut]`` table appended to pyproject.toml."""
    modules, tests = GROUPS[group]
    folder = WORK / group
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, folder / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, folder / name)
    table = {
        "source_paths": ["src"],
        "only_mutate": modules,
        "pytest_add_cli_args_test_selection": tests,
        "also_copy": ["README.md"],
        # torch is not fork-safe once it has run: fork each mutant from a server that has only collected
        "process_isolation": "forkserver",
    }
    lines = ["", "[tool.mutmut]", *(f"{key} = {json.dumps(value)}" for key, value in table.items())]
    with (folder / "pyproject.toml").open("a", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    return folder


def run(group: str, children: int) -> dict[str, Counter]:
    """Run mutmut over ``group``; its mutants' statuses counted per module."""
    folder = prepare(group)
    mutmut = [sys.executable, "-m", "mutmut"]
    env = {**os.environ, "CI": "1"}  # Hypothesis replays its fixed examples (tests/conftest.py): a repeatable score
    subprocess.run([*mutmut, "run", "--max-children", str(children)], cwd=folder, env=env, check=True)
    listed = subprocess.run([*mutmut, "results", "--all", "true"], cwd=folder, env=env, check=True, capture_output=True)
    counts: dict[str, Counter] = defaultdict(Counter)
    for line in listed.stdout.decode().splitlines():
        found = re.fullmatch(r"\s*(\S+): (.+)", line)
        if found:  # backproplab.report.html.x__text__mutmut_2: killed
            counts[found[1].rsplit(".", 1)[0]][found[2]] += 1
    return counts


def machine() -> str:
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = re.findall(r"model name\s*:\s*(.+)", cpuinfo.read_text(encoding="utf-8"))
        model = names[0] if names else model
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Mutation testing with mutmut: killed / survived / timed out per module, per group of modules "
        "and the fast tests that cover them (record the result in docs/results.md)."
    )
    parser.add_argument("groups", nargs="*", help=f"groups to run (default all): {', '.join(GROUPS)}")
    parser.add_argument("--max-children", type=int, default=2, help="mutants tested at once (default 2)")
    args = parser.parse_args()
    unknown = [g for g in args.groups if g not in GROUPS]
    if unknown:
        parser.error(f"unknown group {', '.join(unknown)}; choose from {', '.join(GROUPS)}")
    rows = []
    for group in args.groups or list(GROUPS):
        start = time.monotonic()
        counts = run(group, args.max_children)
        minutes = (time.monotonic() - start) / 60
        rows += [(group, module, c, minutes) for module, c in sorted(counts.items())]
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"\nmutmut over {', '.join(args.groups or GROUPS)}; {machine()}; {when}")
    print("| group | module | killed | survived | timed out | no test reaches it | other | group minutes |")
    print("|---|---|---|---|---|---|---|---|")
    for group, module, c, minutes in rows:
        other = sum(c.values()) - c["killed"] - c["survived"] - c["timeout"] - c["no tests"]
        row = (group, module, c["killed"], c["survived"], c["timeout"], c["no tests"], other, f"{minutes:.1f}")
        print("| " + " | ".join(map(str, row)) + " |")


if __name__ == "__main__":
    main()
