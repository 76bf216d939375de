"""LaTeX to MathML, when the page is built: browsers draw ``<math>`` natively, so the page needs
no JavaScript, no web font and no network. The converter is latex2mathml, pinned in pyproject.toml.

Multi-line derivations are written as one equation per row (see ``Section.derivation``) rather than
with ``aligned``-style environments, which the converter does not lay out.
"""

from __future__ import annotations

from functools import cache

from latex2mathml.converter import convert


@cache
def mathml(latex: str, *, display: bool = True) -> str:
    """``<math>`` markup for ``latex`` (display or inline). Raises ValueError naming the formula on failure."""
    try:
        return convert(latex.strip(), display="block" if display else "inline")
    except Exception as exc:  # the converter raises assorted exception types on bad input
        raise ValueError(f"cannot convert the formula {latex!r} to MathML: {exc}") from exc
