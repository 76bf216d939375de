"""Mutation testing (``make mutants``): how many small bugs in the functions where a wrong number would
mislead a learner the fast tests catch, per module, with mutmut.

Each group below is a set of modules, the functions in them left out as plumbing (each with its reason), and
the fast tests that cover the rest. A group runs in its own copy of the checkout, ``build/mutants/<group>/``:
its ``pyproject.toml`` gains a ``[tool.mutmut]`` table naming the modules, the line patterns never mutated
(error messages, warnings, printed text) and the tests, and each left-out function's header in the copy gains
``# pragma: no mutate block`` (the checkout itself is not changed). mutmut then runs, for each mutant, only the
tests that reach the mutated function, each test under a time limit. Prints killed / survived / timed out
(and mutants no test reaches) per module, with the machine, the date and the load, for the results page
(docs/results.md). ``mutmut browse`` or ``mutmut show NAME`` inside a group's folder shows the survivors.

    python benchmarks/mutants.py                         # every group: 4,124 mutants, about 57 CPU minutes
    python benchmarks/mutants.py --tables                # the results page's tables of groups and what is left out
    python benchmarks/mutants.py report_html sweep_stats # some groups
    python benchmarks/mutants.py scratch --mutants 'backproplab.scratch.losses.*'  # some mutants of a group
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import time
import tokenize
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "build" / "mutants"
SRC = "src/backproplab/"

#: Lines never mutated in any group (mutmut's ``do_not_mutate_patterns``): what they say, not what they compute.
PLUMBING_LINES = {
    r"^\s*raise \w": "an error's message (what is refused is tested; the wording is not a number)",
    r"warnings\.warn\(": "a warning's text",
    r"\bprint\(": "printed progress text",
}

#: pytest plugins each mutant's session goes without. unraisableexception runs gc.collect() several times as a
#: session ends, 0.3 of the 0.4 CPU seconds a mutant's pytest session costs with torch and NumPy loaded; it only
#: turns an exception raised in a ``__del__`` into a warning (an error only under ``-W error``, which no test
#: sets), so no verdict changes. cacheprovider writes ``.pytest_cache`` (last failures), which no mutant reads.
LEAN_PYTEST = ["-p", "no:unraisableexception", "-p", "no:cacheprovider"]

#: Seconds per test while a mutant is in place: a mutant that loops forever fails by name (pytest-timeout).
MUTANT_TEST_TIMEOUT = 60


@dataclass(frozen=True)
class Group:
    """Files to mutate (globs), the test files that cover them, functions in them left out (``path::name`` or
    ``path::Class.name`` -> why), and tests left out (a name fragment deselected with ``-k``, or a test file
    that covers these modules but is not run -> why)."""

    modules: list[str]
    tests: list[str]
    left_out: dict[str, str] = field(default_factory=dict)
    tests_left_out: dict[str, str] = field(default_factory=dict)

    def selection(self) -> list[str]:
        """pytest's arguments: the test files, and ``-k`` deselecting the tests left out."""
        names = [f"not {name}" for name in self.tests_left_out if not name.endswith(".py")]
        return self.tests + (["-k", " and ".join(names)] if names else [])


PLOT_ONLY = "draws a matplotlib figure for the eye; no number a learner reads comes from it"
VALIDATION = "checks its arguments and raises; what it refuses is tested, the wording is not a number"
PICKLING = "pickling plumbing: a round trip is tested, the state's layout is not a number"
REPR = "text for the REPL"
#: Why the MLP trainer's loop is left out while its split, early stopping, record passes and mini-batch weights
#: are mutated.
TRAINER_LOOP = (
    "the MLP training loop's bookkeeping (history lists, best-pass restore, divergence, TensorBoard): about 340 "
    "mutants, each reaching every training test (12 CPU seconds a survivor, past the 30 minutes); the history's "
    "numbers are checked end to end against the handout's own loop (tests/test_trainer.py)"
)
#: Tests that start a Python child only to prove the NumPy engine never imports torch (seconds each).
NO_IMPORT_PROBE = "starts a Python child only to prove the NumPy engine never imports torch (seconds each)"

GROUPS: dict[str, Group] = {
    "scratch": Group(
        [f"{SRC}scratch/*", f"{SRC}numpy_dcn/conv.py", f"{SRC}numpy_dcn/convnet.py", f"{SRC}numpy_dcn/engine.py"],
        [
            "tests/test_activations.py",
            "tests/test_layer.py",
            "tests/test_three_layer.py",
            "tests/test_deep.py",
            "tests/test_optimizers.py",
            "tests/test_conv_layers.py",
            "tests/test_reductions.py",
            "tests/test_convnet_equivalence.py",
            "tests/test_trainer.py",
        ],
        {
            f"{SRC}scratch/trainer.py::TrainSettings.__post_init__": VALIDATION,
            f"{SRC}scratch/trainer.py::Trainer._print": "when a progress line is printed (terminal text, not a "
            "recorded number)",
            **{
                f"{SRC}scratch/trainer.py::Trainer.{name}": TRAINER_LOOP
                for name in "__init__ train new_history _record _validation_rows _diverged _log_scalars".split()
            },
            f"{SRC}scratch/monitor.py": "passes tensors to monitoring.py (its own group)",
            f"{SRC}scratch/gradcheck.py::gradient_check": "prints a table around numerical_gradients and rel_error",
            f"{SRC}scratch/gradcheck.py::layer_gradient_check": "the same for one layer",
            f"{SRC}scratch/layer.py::Layer.__repr__": REPR,
            f"{SRC}scratch/layer.py::Layer.__getstate__": PICKLING,
            f"{SRC}scratch/layer.py::Layer.__setstate__": PICKLING,
            f"{SRC}scratch/three_layer.py::NeuralNetwork.__repr__": REPR,
            f"{SRC}scratch/three_layer.py::NeuralNetwork.visualize_decision_boundary": PLOT_ONLY,
            f"{SRC}scratch/three_layer.py::NeuralNetwork.check_training_data": VALIDATION,
            f"{SRC}scratch/deep.py::resolve_hidden_dims": "turns the handout's n_layers/layer_size arguments into "
            "widths, with their errors; a wrong width is refused by the layer shapes every deep test builds",
            f"{SRC}scratch/deep.py::DeepNeuralNetwork.__repr__": REPR,
            f"{SRC}scratch/deep.py::DeepNeuralNetwork.__setstate__": PICKLING,
            f"{SRC}scratch/deep.py::DeepNeuralNetwork.__getattr__": "the handout's W1/b1 attribute names",
            f"{SRC}scratch/deep.py::DeepNeuralNetwork.__setattr__": "the handout's W1/b1 attribute names",
            f"{SRC}scratch/deep.py::DeepNeuralNetwork._handout_array": "the handout's W1/b1 attribute names",
            f"{SRC}scratch/deep.py::DeepNeuralNetwork.visualize_decision_boundary": PLOT_ONLY,
            f"{SRC}scratch/deep.py::DeepNeuralNetwork.check_training_data": VALIDATION,
            f"{SRC}scratch/deep.py::DeepNeuralNetwork._check_X": VALIDATION,
            f"{SRC}scratch/optimizers.py::Optimizer.__repr__": REPR,
            f"{SRC}scratch/optimizers.py::Optimizer._check_hyper": VALIDATION,
            f"{SRC}scratch/optimizers.py::Optimizer.check_grads": VALIDATION,
            f"{SRC}scratch/optimizers.py::make_optimizer": "name lookup (registry), with its error",
            f"{SRC}numpy_dcn/conv.py::_check_ndim": VALIDATION,
            f"{SRC}numpy_dcn/conv.py::make_activation": "name lookup, with its error",
            f"{SRC}numpy_dcn/convnet.py::ConvNet.load_state_dict": "checkpoint plumbing (checked names and shapes)",
            f"{SRC}numpy_dcn/engine.py::check_config": VALIDATION,
            f"{SRC}numpy_dcn/engine.py::_blas_threads": "thread-count environment plumbing",
            f"{SRC}numpy_dcn/engine.py::NumpyEngine": "the training loop's adapter (build, checkpoints, batches); its "
            "numbers are the ConvNet's, mutated here, and its checkpoint round trip is tested end to end",
        },
        {
            "never_imports": NO_IMPORT_PROBE,
            "does_not_import": NO_IMPORT_PROBE,
            "50_steps": "the engines' 50-step trajectories (seconds each); one step's loss and every gradient are "
            "compared with torch autograd in the fast tests",
            "one_settings_object_flows": "reads fit_model's default arguments, which mutmut's trampolines do not have",
        },
    ),
    "dcn": Group(
        [f"{SRC}dcn/model.py", f"{SRC}dcn/training.py", f"{SRC}mnist_net/contract.py", f"{SRC}mnist_net/choices.py"],
        [
            "tests/test_dcn_model.py",
            "tests/test_dcn_device.py",
            "tests/test_engine_settings.py",
        ],
        {
            f"{SRC}dcn/model.py::count_parameters": "one line of torch bookkeeping, printed in the run's header",
            f"{SRC}dcn/training.py::make_autocast": "device/precision plumbing (bf16 is a GPU path)",
            f"{SRC}dcn/training.py::check_device": VALIDATION,
            f"{SRC}dcn/training.py::check_resources": VALIDATION,
            f"{SRC}dcn/training.py::_resolve_hardware": "device plumbing",
            f"{SRC}dcn/training.py::_reads_loss_every_step": "when the loss is copied to the host (a GPU speed choice)",
            f"{SRC}dcn/training.py::_eval_batch": "the evaluation batch size (memory, not the result)",
            f"{SRC}dcn/training.py::TorchEngine.check": VALIDATION,
            f"{SRC}dcn/training.py::TorchEngine.session": "thread-count plumbing",
            f"{SRC}dcn/training.py::TorchEngine.build": "the run loop's adapter; reached only by whole training runs",
            f"{SRC}dcn/training.py::TorchEngine.load_checkpoint": "checkpoint plumbing, tested end to end (resume)",
            f"{SRC}dcn/training.py::TorchEngine.restore": "checkpoint plumbing, tested end to end (resume)",
            f"{SRC}dcn/training.py::TorchEngine.save_checkpoint": "checkpoint plumbing, tested end to end (resume)",
            f"{SRC}dcn/training.py::TorchEngine.batches": "the run loop's adapter; reached only by whole training runs",
            **{
                f"{SRC}dcn/training.py::TorchEngine.{name}": "the run loop's adapter, reached here only by the "
                "learning-rate read-back's short runs, which check the learning rate; the numbers it passes on are "
                "forward_backward's, evaluate's and the DCN's, mutated here"
                for name in "new_model eval_set forward_backward monitored losses flops_per_step accuracy".split()
            },
        },
        {
            "the_guide_lists_exactly_the_cuda_tests": "reads docs/, not the network",
            "every_setting_that_shapes_a_run": "26 short training runs (8 CPU seconds a surviving mutant) proving each "
            "setting reaches a run: mnist_net/config.py and run.py, in no group",
            "buffered_": "training runs checking when the loss is copied to the host (a GPU speed path, "
            "_reads_loss_every_step, left out above)",
        },
    ),
    "monitoring": Group(
        [f"{SRC}monitoring.py"],
        ["tests/test_monitoring.py"],
        {
            f"{SRC}monitoring.py::_wait_for_a_later_second": "event-file naming (a resumed run's files sort after "
            "the first's); tested by a resume in test_dcn_train, minutes of mutants for one ordering",
            f"{SRC}monitoring.py::SummaryWriter.__enter__": "context-manager plumbing",
            f"{SRC}monitoring.py::SummaryWriter.__exit__": "context-manager plumbing",
        },
        {"does_not_import": "starts a Python child only to prove monitoring never imports torch"},
    ),
    "runs": Group(
        [f"{SRC}runs.py"],
        ["tests/test_runs.py", "tests/test_run_records.py"],
        {
            f"{SRC}runs.py::command_hint": "the command a message suggests (text)",
            f"{SRC}runs.py::failed_to_write": "the disk-full message (text; its one path is tested end to end)",
            f"{SRC}runs.py::DamagedCheckpoint.__init__": "an error's message",
            f"{SRC}runs.py::damaged_checkpoint": "an error's message",
        },
        {
            "tests/test_checkpoint_readers.py": "whole runs reading damaged checkpoints (7 CPU seconds for one full "
            "disk); every function of runs.py is reached by test_runs.py and test_run_records.py, which check its "
            "records and refusals by hand",
        },
    ),
    "report_html": Group([f"{SRC}report/html.py"], ["tests/test_report_html.py"]),
    "sweep_stats": Group([f"{SRC}sweeps/stats.py"], ["tests/test_sweep_stats.py"]),
    "sweep_figures": Group(
        [f"{SRC}sweeps/figures.py"],
        ["tests/test_sweep_figures.py", "tests/test_sweep_readable_figures.py"],
        {
            f"{SRC}sweeps/figures.py::seed_note": "the caption's words ('3 seeds shaded')",
            f"{SRC}sweeps/figures.py::log_axis": "tick label formatting",
            f"{SRC}sweeps/figures.py::_legend": "legend placement",
            f"{SRC}sweeps/figures.py::_figure_legend": "legend placement",
            f"{SRC}sweeps/figures.py::_label": "a legend entry's words",
            f"{SRC}sweeps/figures.py::_panels": "the grid's layout",
            f"{SRC}sweeps/figures.py::_inside_figures": "which panels each factor gets, and their file names and "
            "titles; the panels' numbers come from layer_grid_figure, _per_value and _band, mutated here",
            f"{SRC}sweeps/figures.py::draw_all": "file names",
        },
    ),
}

#: Lines never mutated in sweeps/figures.py besides PLUMBING_LINES: axis text, sizes and layout, not data.
FIGURE_TEXT_LINES = [
    r"\.set\(",
    r"\.set_(title|xlabel|ylabel|xlim|xticks)\(",
    r"suptitle\(",
    r"subplots\(",
    r"\.grid\(",
]

#: Appended to each group's copy of tests/conftest.py. mutmut runs a mutant's tests with ``-x`` in no set order,
#: so a killed mutant often paid for slow tests before a fast one failed; fastest first (its stats run's
#: seconds per test), it costs the quickest test that kills it. Which tests run, and a survivor's cost, are
#: unchanged (the tests are independent: the suite runs them in any order under pytest-xdist).
FASTEST_FIRST = """

import functools as _functools
import json as _json
import pathlib as _pathlib


@_functools.cache
def _mutmut_seconds() -> dict[str, float]:
    stats = _pathlib.Path("mutmut-stats.json")  # mutmut runs the tests in its mutants/ folder
    return _json.loads(stats.read_text(encoding="utf-8"))["duration_by_test"] if stats.is_file() else {}


def pytest_collection_modifyitems(items) -> None:  # benchmarks/mutants.py: fastest first, in this copy only
    items.sort(key=lambda item: _mutmut_seconds().get(item.nodeid, 0.0))
"""

#: Copied into each group's folder: the code, the tests and what the tests read.
COPIED = ("src", "tests", "README.md", "pyproject.toml")


def _header_ends(source: str) -> dict[int, int]:
    """For each line a ``def``/``class`` starts on, the line of the colon ending its header."""
    ends: dict[int, int] = {}
    start, depth = None, 0
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.NAME and token.string in ("def", "class") and start is None:
            start, depth = token.start[0], 0
        elif start is not None and token.type == tokenize.OP:
            depth += token.string in "([{"
            depth -= token.string in ")]}"
            if token.string == ":" and depth == 0:
                ends[start] = token.start[0]
                start = None
    return ends


def leave_out(path: Path, names: list[str]) -> None:
    """Mark the functions or classes ``names`` (``name`` or ``Class.name``) in ``path`` with
    ``# pragma: no mutate block`` on their header line, so mutmut leaves them whole."""
    source = path.read_text(encoding="utf-8")
    found: dict[str, list[int]] = defaultdict(list)

    def walk(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                found[prefix + node.name].append(node.lineno)
            if isinstance(node, ast.ClassDef):
                walk(node.body, f"{prefix}{node.name}.")

    walk(ast.parse(source).body, "")
    missing = [name for name in names if name not in found]
    if missing:
        sys.exit(f"benchmarks/mutants.py: {path.name} has no {', '.join(missing)}: update GROUPS")
    ends = _header_ends(source)
    lines = source.splitlines()
    for name in names:
        for start in found[name]:
            lines[ends[start] - 1] += "  # pragma: no mutate block"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def prepare(group: str) -> Path:
    """A fresh copy of the checkout for ``group``: its ``[tool.mutmut]`` table appended to pyproject.toml,
    its left-out functions marked in the copy's sources."""
    spec = GROUPS[group]
    folder = WORK / group
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, folder / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, folder / name)
    whole_files, functions = [], defaultdict(list)
    for entry in spec.left_out:
        path, _, name = entry.partition("::")
        if name:
            functions[path].append(name)
        else:
            whole_files.append(path)
    for path, names in functions.items():
        leave_out(folder / path, names)
    conftest = folder / "tests" / "conftest.py"
    conftest.write_text(conftest.read_text(encoding="utf-8") + FASTEST_FIRST, encoding="utf-8")
    patterns = list(PLUMBING_LINES) + (FIGURE_TEXT_LINES if group == "sweep_figures" else [])
    table = {
        "source_paths": ["src"],
        "only_mutate": spec.modules,
        "do_not_mutate": whole_files,
        "do_not_mutate_patterns": patterns,
        "pytest_add_cli_args_test_selection": spec.selection(),
        "pytest_add_cli_args": [f"--timeout={MUTANT_TEST_TIMEOUT}", *LEAN_PYTEST],
        # mutmut's own limit, (tests' seconds + this) * 15 of wall time: the default 1 s calls a mutant whose
        # fast tests start slowly on a shared machine a timeout; a real hang still fails at the limit above
        "timeout_constant": 5.0,
        "also_copy": ["README.md"],
        # torch is not fork-safe once it has run: fork each mutant from a server that has only collected
        "process_isolation": "forkserver",
    }
    lines = ["", "[tool.mutmut]", *(f"{key} = {json.dumps(value)}" for key, value in table.items())]
    with (folder / "pyproject.toml").open("a", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    return folder


def run(group: str, children: int, names: list[str]) -> dict[str, Counter]:
    """Run mutmut over ``group`` (only the mutants matching ``names``, mutmut's globs, if any); its mutants'
    statuses counted per module."""
    folder = prepare(group)
    mutmut = [sys.executable, "-m", "mutmut"]
    env = {**os.environ, "CI": "1"}  # Hypothesis replays its fixed examples (tests/conftest.py): a repeatable score
    subprocess.run([*mutmut, "run", "--max-children", str(children), *names], cwd=folder, env=env, check=True)
    listed = subprocess.run([*mutmut, "results", "--all", "true"], cwd=folder, env=env, check=True, capture_output=True)
    counts: dict[str, Counter] = defaultdict(Counter)
    for line in listed.stdout.decode().splitlines():
        found = re.fullmatch(r"\s*(\S+): (.+)", line)
        if found:  # backproplab.report.html.x__text__mutmut_2: killed
            counts[found[1].rsplit(".", 1)[0]][found[2]] += 1
    return counts


def _children_cpu() -> float:
    """CPU seconds (user + system) of every finished child process: the machine's own cost of a group,
    whatever share of the cores the other jobs left it."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def machine() -> str:
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = re.findall(r"model name\s*:\s*(.+)", cpuinfo.read_text(encoding="utf-8"))
        model = names[0] if names else model
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def _short(path: str) -> str:
    return path.removeprefix(SRC)


def groups_table() -> str:
    """The results page's table of groups: what each mutates and which tests it runs (from GROUPS)."""
    rows = ["| group | mutated | tests (only those reaching the mutated function run) |", "|---|---|---|"]
    for name, spec in GROUPS.items():
        tests = ", ".join(f"`{Path(t).stem.removeprefix('test_')}`" for t in spec.tests)
        rows.append(f"| {name} | {', '.join(f'`{_short(m)}`' for m in spec.modules)} | {tests} |")
    return "\n".join(rows)


def left_out_table() -> str:
    """The results page's table of what each group leaves out and why (from GROUPS), one row per reason."""
    rows = ["| group | left out | why |", "|---|---|---|"]
    for name, spec in GROUPS.items():
        by_reason: dict[str, list[str]] = defaultdict(list)
        for entry, why in spec.left_out.items():
            path, _, function = entry.partition("::")
            by_reason[why].append(f"`{_short(path)}`" + (f" `{function}`" if function else ""))
        for test, why in spec.tests_left_out.items():
            by_reason[why].append(f"`{test}`" if test.endswith(".py") else f"tests named `*{test}*`")
        rows += [f"| {name} | {', '.join(what)} | {why} |" for why, what in by_reason.items()]
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Mutation testing with mutmut: killed / survived / timed out per module, per group of modules "
        "and the fast tests that cover them (record the result in docs/results.md)."
    )
    parser.add_argument("groups", nargs="*", help=f"groups to run (default all): {', '.join(GROUPS)}")
    parser.add_argument("--max-children", type=int, default=2, help="mutants tested at once (default 2)")
    parser.add_argument(
        "--mutants",
        nargs="+",
        default=[],
        metavar="GLOB",
        help="only the mutants whose names match, e.g. 'backproplab.scratch.losses.*' (the others count as not run)",
    )
    parser.add_argument(
        "--tables",
        action="store_true",
        help="print the results page's tables of the groups and of what they leave out, and run nothing",
    )
    args = parser.parse_args()
    if args.tables:
        print(groups_table(), left_out_table(), sep="\n\n")
        return
    unknown = [g for g in args.groups if g not in GROUPS]
    if unknown:
        parser.error(f"unknown group {', '.join(unknown)}; choose from {', '.join(GROUPS)}")
    rows, loads, total, total_cpu = [], [], 0.0, 0.0
    for group in args.groups or list(GROUPS):
        start, cpu_start = time.monotonic(), _children_cpu()
        counts = run(group, args.max_children, args.mutants)
        minutes, cpu = (time.monotonic() - start) / 60, (_children_cpu() - cpu_start) / 60
        total, total_cpu = total + minutes, total_cpu + cpu
        loads.append(os.getloadavg()[2])  # the other jobs' share of the cores changes the minutes, not the score
        rows += [(group, module, c, minutes, cpu) for module, c in sorted(counts.items())]
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = f"15-minute load average {min(loads):.1f} to {max(loads):.1f} at the groups' ends"
    print(
        f"\nmutmut over {', '.join(args.groups or GROUPS)}; {machine()}; {when}; {total:.1f} minutes "
        f"({total_cpu:.1f} CPU minutes, so about {total_cpu / 2:.0f} minutes on 2 idle cores); {load}"
    )
    columns = "killed | survived | timed out | no test reaches it | not run | other | minutes | CPU minutes"
    print(f"| group | module | {columns} |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for group, module, c, minutes, cpu in rows:
        known = ("killed", "survived", "timeout", "no tests", "not checked")
        other = sum(c.values()) - sum(c[k] for k in known)
        row = (group, module, *(c[k] for k in known), other, f"{minutes:.1f}", f"{cpu:.1f}")
        print("| " + " | ".join(map(str, row)) + " |")


if __name__ == "__main__":
    main()
