"""The starter files' text, rendered from the reference's signatures and docstrings (:mod:`.handout`)."""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Callable
from typing import Any

import numpy as np

from backproplab.exercise.handout import PART_FILES, StarterFile, Stub, parts_of
from backproplab.exercise.items import ITEMS, items_of_part

FILL_IN = "fill in"


def _default_source(value: object) -> str:
    if isinstance(value, type) and value.__module__ == "numpy":
        return f"np.{value.__name__}"
    if isinstance(value, np.dtype):
        return f"np.{value.name}"
    return repr(value)


def _annotation_source(annotation: object) -> str:
    if isinstance(annotation, str):
        return annotation  # the reference uses postponed annotations: already source text
    return inspect.formatannotation(annotation)


def signature_source(function: Callable[..., Any]) -> str:
    """``name(params) -> ret`` as source text, from the function's own signature."""
    sig = inspect.signature(function)
    parts: list[str] = []
    star_done = False
    for p in sig.parameters.values():
        if p.kind is p.KEYWORD_ONLY and not star_done:
            parts.append("*")
            star_done = True
        if p.kind is p.VAR_POSITIONAL:
            star_done = True
        prefix = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "")
        text = prefix + p.name
        if p.annotation is not p.empty:
            text += f": {_annotation_source(p.annotation)}"
        if p.default is not p.empty:
            text += (
                f" = {_default_source(p.default)}" if p.annotation is not p.empty else f"={_default_source(p.default)}"
            )
        parts.append(text)
    ret = "" if sig.return_annotation is sig.empty else f" -> {_annotation_source(sig.return_annotation)}"
    return f"{function.__name__}({', '.join(parts)}){ret}"


def _docstring(text: str, indent: str) -> str:
    text = text.replace("\\", "\\\\").replace('"""', r"\"\"\"")
    lines = text.splitlines() or [""]
    if len(lines) == 1:
        return f'{indent}"""{lines[0]}"""\n'
    body = "\n".join(f"{indent}{line}" if line.strip() else "" for line in lines[1:])
    return f'{indent}"""{lines[0]}\n{body}\n{indent}"""\n'


def _def_line(function: Callable[..., Any]) -> str:
    """``    def name(params) -> ret:``, one parameter per line when it would pass 100 characters."""
    line = f"    def {signature_source(function)}:\n"
    if len(line) <= 101:
        return line
    head, _, rest = signature_source(function).partition("(")
    params, _, ret = rest.rpartition(")")
    items = _split_params(params)
    return f"    def {head}(\n" + "".join(f"        {p},\n" for p in items) + f"    ){ret}:\n"


def _split_params(text: str) -> list[str]:
    """Split a parameter list at the top-level commas (annotations hold commas in brackets)."""
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += ch in "[("
        depth -= ch in "])"
        if ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += ch
    return [*parts, current.strip()] if current.strip() else parts


def _function_source(stub: Stub) -> str:
    """A module-level function's source (a stub rendered as a method, then dedented)."""
    return textwrap.dedent(_stub_source(stub)).strip() + "\n"


def _stub_source(stub: Stub) -> str:
    indent = " " * 8
    own = stub.reference.__doc__  # not inspect.getdoc: an undocumented __init__ would get object's
    doc = inspect.cleandoc(own) if own else ""
    out = _def_line(stub.reference)
    if stub.item is None:
        if doc:
            out += _docstring(doc, indent)
        return out + textwrap.indent(textwrap.dedent(stub.body).strip(), indent) + "\n"
    hint = textwrap.fill(f"Fill in ({stub.item}): {stub.body}", 96)
    out += _docstring(f"{doc}\n\n{hint}" if doc else hint, indent)
    message = f"{FILL_IN} ({stub.item}): {stub.reference.__qualname__.split('.')[-1]}"
    return out + f"{indent}raise NotImplementedError({message!r})\n"


def file_source(starter: StarterFile) -> str:
    """The text of one starter file."""
    out = _docstring(starter.header, "") + "\nfrom __future__ import annotations\n\n" + starter.imports + "\n"
    if starter.helpers:
        out += "\n\n" + starter.helpers.strip() + "\n"
    for stub in starter.functions:
        out += "\n\n" + _function_source(stub)
    for cls in starter.classes:
        out += f"\n\nclass {cls.name}{f'({cls.bases})' if cls.bases else ''}:\n"
        out += _docstring(inspect.getdoc(cls.reference) or cls.name, "    ")
        for stub in cls.stubs:
            out += "\n" + _stub_source(stub)
    return out


def learner_readme(part: str) -> str:
    """The learner's README: what to do, in which order, how to check."""
    rows = "\n".join(f"| {n} | {ITEMS[n].title} | {ITEMS[n].points:g} |" for n in items_of_part(part))
    files = ", ".join(f"`{name}`" for p in parts_of(part) for name in PART_FILES[p])
    sections = {"1": "part 1's sections", "2": "part 2's sections (MNIST)", "all": "the sections of both parts"}
    report = f"\n    backproplab report --implementation . --out report    # {sections[part]}, with your networks"
    return f"""# Your backproplab exercise

Fill in the functions of {files} that raise `NotImplementedError("fill in (...)")`, item by item
in this order. Each docstring states the shapes and conventions; the reference you are checked
against is backproplab's own (`backproplab.scratch`), which you may read once you are done.

| item | what | points |
|---|---|---|
{rows}

Check your work as you go (from this folder):

    backproplab exercise check .          # every item
    backproplab exercise check . 1d       # one item
    backproplab exercise check . --json results.json

Each item is reported as *passed*, *not started* (its function still raises NotImplementedError) or
*failed*, with what is wrong: the relative error against finite differences and against the reference
(`max |a - b| / max(1e-8, |a| + |b|)`, cs231n's; below 1e-6 passes), the entry with the largest error,
and the common mistake that explains it when one does. Your code runs in a separate process with a
time and memory limit, so an endless loop or a crash is reported as one line.

When every check passes:
{report}
    backproplab exercise pack .                           # the hand-in zip: your code and your report

Keep the constructors (`__init__`) as given: the checks compare your numbers with the reference's,
starting from the same weights.
"""
