"""A tiny HTML page builder for the report: sections of paragraphs, figures, tables and maths.

No templating engine, no script and no network: one HTML file whose figures sit beside it in
``figures/`` (or are embedded as data URIs for a single file). Every string is escaped unless
passed as :class:`Raw`; build mixed text with :func:`markup` and :func:`code`.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from backproplab.report.maths import mathml

#: Turns a figure's relative ``src`` into what the page links (itself, or a data URI).
Embed = Callable[[str], str]


@dataclass(frozen=True)
class Raw:
    """Trusted HTML, inserted as is."""

    markup: str


Text = str | Raw


def markup(*parts: Text) -> Raw:
    """Join text (escaped) and :class:`Raw` parts into one :class:`Raw`."""
    return Raw("".join(_text(p) for p in parts))


def code(text: str) -> Raw:
    """``<code>`` around escaped ``text`` (commands, paths, names)."""
    return Raw(f"<code>{html.escape(text)}</code>")


def link(anchor: str, text: str) -> Raw:
    """A link to ``#anchor`` on the page."""
    return Raw(f'<a href="#{html.escape(anchor)}">{html.escape(text)}</a>')


def figure_id(src: str) -> str:
    """The page anchor of the figure at ``src``: ``figures/grid-moons/grid.png`` -> ``fig-grid-moons-grid``."""
    stem = src.removeprefix("figures/").rsplit(".", 1)[0]
    return "fig-" + re.sub(r"[^A-Za-z0-9_-]+", "-", stem)


def tex(latex: str) -> Raw:
    """Inline maths."""
    return Raw(mathml(latex, display=False))


@dataclass(frozen=True)
class Figure:
    src: str
    caption: Text
    width: str

    def render(self, embed: Embed) -> str:
        url = html.escape(embed(self.src))
        image = f'<img src="{url}" style="max-width:{self.width}" alt="{html.escape(_plain(self.caption))}">'
        if not url.startswith("data:"):  # a link to the full-size file; an embedded figure is not repeated
            image = f'<a href="{url}">{image}</a>'
        return f'<figure id="{figure_id(self.src)}">{image}<figcaption>{_text(self.caption)}</figcaption></figure>'


@dataclass
class Section:
    """One titled part of the report; ``blocks`` are rendered in order."""

    title: str
    anchor: str
    blocks: list[str | Figure] = field(default_factory=list)

    def paragraph(self, text: Text) -> Section:
        self.blocks.append(f"<p>{_text(text)}</p>")
        return self

    def heading(self, text: str, anchor: str | None = None) -> Section:
        ident = f' id="{html.escape(anchor)}"' if anchor else ""
        self.blocks.append(f"<h3{ident}>{html.escape(text)}</h3>")
        return self

    def bullets(self, items: Sequence[Text]) -> Section:
        self.blocks.append("<ul>" + "".join(f"<li>{_text(i)}</li>" for i in items) + "</ul>")
        return self

    def figure(self, src: str, caption: Text, width: str = "100%") -> Section:
        """A figure at ``src`` (relative to the page, under ``figures/``); its anchor is :func:`figure_id`."""
        self.blocks.append(Figure(src, caption, width))
        return self

    def table(
        self,
        header: Sequence[str],
        rows: Sequence[Sequence[object]],
        caption: str | None = None,
        anchor: str | None = None,
        css_class: str | None = None,
    ) -> Section:
        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{_cell(c)}</td>" for c in row) + "</tr>" for row in rows)
        cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
        ident = f' id="{html.escape(anchor)}"' if anchor else ""
        ident += f' class="{html.escape(css_class)}"' if css_class else ""
        self.blocks.append(f"<table{ident}>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        return self

    def equation(self, latex: str) -> Section:
        """One displayed formula, as MathML."""
        self.blocks.append(f'<div class="equation">{mathml(latex)}</div>')
        return self

    def derivation(self, steps: Sequence[tuple[str, Text]], anchor: str | None = None) -> Section:
        """A derivation: one row per step, the formula (LaTeX) beside why it holds."""
        ident = f' id="{html.escape(anchor)}"' if anchor else ""
        rows = "".join(
            f'<tr><td class="formula">{mathml(latex)}</td><td class="why">{_text(why)}</td></tr>'
            for latex, why in steps
        )
        self.blocks.append(f'<table class="derivation"{ident}><tbody>{rows}</tbody></table>')
        return self

    def render(self, embed: Embed = str) -> str:
        head = f'<section id="{html.escape(self.anchor)}"><h2>{html.escape(self.title)}</h2>'
        body = "".join(b if isinstance(b, str) else b.render(embed) for b in self.blocks)
        return head + body + "</section>"

    def figure_sources(self) -> list[str]:
        return [b.src for b in self.blocks if isinstance(b, Figure)]


def data_uri_embed(root: Path) -> Embed:
    """An :data:`Embed` that inlines each figure under ``root`` as a base64 data URI."""
    kinds = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg"}

    def embed(src: str) -> str:
        path = root / src
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return f"data:{kinds.get(path.suffix.lower(), 'application/octet-stream')};base64,{data}"

    return embed


def _text(value: Text) -> str:
    return value.markup if isinstance(value, Raw) else html.escape(value)


def _plain(value: Text) -> str:
    return re.sub(r"<[^>]+>", "", value.markup) if isinstance(value, Raw) else value


def _cell(value: object) -> str:
    if isinstance(value, Raw):
        return value.markup
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
line-height:1.5;color:#222}
h1{border-bottom:2px solid #444}h2{border-bottom:1px solid #ccc;margin-top:2em}
figure{margin:1em 0;text-align:center}figcaption{font-size:.9em;color:#555}
table{border-collapse:collapse;margin:1em 0;font-size:.92em}caption{font-weight:bold;text-align:left;padding:.3em 0}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}
table.derivation td{border:none;border-bottom:1px solid #eee;vertical-align:middle}
table.derivation td.formula{text-align:left;padding-right:2em}table.derivation math{display:inline math}
table.derivation td.why{color:#555;text-align:left}
div.equation{margin:.8em 0}math{font-size:1.1em}
table.map td,table.map th{text-align:left;vertical-align:top}
nav ul{columns:2}code{background:#f3f3f3;padding:0 .2em}
.meta{color:#666;font-size:.9em}
"""


def render_page(
    title: str, intro: Text, sections: Sequence[Section], meta: str, *, lead: Section | None = None, embed: Embed = str
) -> str:
    """The whole HTML document: title, the ``lead`` section (the assignment map), contents, sections."""
    toc = "".join(f'<li><a href="#{html.escape(s.anchor)}">{html.escape(s.title)}</a></li>' for s in sections)
    body = "".join(s.render(embed) for s in sections)
    top = lead.render(embed) if lead is not None else ""
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
        f"<p>{_text(intro)}</p><p class='meta'>{html.escape(meta)}</p>"
        f"{top}<nav><h2>Contents</h2><ul>{toc}</ul></nav>{body}</body></html>\n"
    )
