"""A tiny HTML page builder for the report: sections of paragraphs, figures, tables and maths.

No templating engine and no network: the page is one self-contained HTML file whose figures sit
beside it in ``figures/``. Text is escaped unless passed as :class:`Raw`.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Raw:
    """Trusted HTML, inserted as is (used for the derivations)."""

    markup: str


@dataclass
class Section:
    """One titled part of the report; ``blocks`` are rendered in order."""

    title: str
    anchor: str
    blocks: list[str] = field(default_factory=list)

    def paragraph(self, text: str | Raw) -> Section:
        self.blocks.append(f"<p>{_text(text)}</p>")
        return self

    def heading(self, text: str) -> Section:
        self.blocks.append(f"<h3>{html.escape(text)}</h3>")
        return self

    def bullets(self, items: Sequence[str | Raw]) -> Section:
        self.blocks.append("<ul>" + "".join(f"<li>{_text(i)}</li>" for i in items) + "</ul>")
        return self

    def figure(self, src: str, caption: str | Raw, width: str = "100%") -> Section:
        self.blocks.append(
            f'<figure><a href="{html.escape(src)}"><img src="{html.escape(src)}" style="max-width:{width}" '
            f'alt="{html.escape(_plain(caption))}"></a><figcaption>{_text(caption)}</figcaption></figure>'
        )
        return self

    def table(self, header: Sequence[str], rows: Sequence[Sequence[object]], caption: str | None = None) -> Section:
        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{_cell(c)}</td>" for c in row) + "</tr>" for row in rows)
        cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
        self.blocks.append(f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        return self

    def maths(self, text: str) -> Section:
        """A displayed block of formulae in plain monospace (no MathJax: the report works offline)."""
        self.blocks.append(f'<pre class="maths">{html.escape(text.strip())}</pre>')
        return self

    def render(self) -> str:
        head = f'<section id="{html.escape(self.anchor)}"><h2>{html.escape(self.title)}</h2>'
        return head + "".join(self.blocks) + "</section>"


def _text(value: str | Raw) -> str:
    return value.markup if isinstance(value, Raw) else html.escape(value)


def _plain(value: str | Raw) -> str:
    return value.markup if isinstance(value, Raw) else value


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
pre.maths{background:#f7f7f7;border-left:3px solid #888;padding:.6em 1em;overflow-x:auto;font-size:.95em}
nav ul{columns:2}code{background:#f3f3f3;padding:0 .2em}
.meta{color:#666;font-size:.9em}
"""


def render_page(title: str, intro: str, sections: Sequence[Section], meta: str) -> str:
    """The whole HTML document: title, table of contents, sections."""
    toc = "".join(f'<li><a href="#{html.escape(s.anchor)}">{html.escape(s.title)}</a></li>' for s in sections)
    body = "".join(s.render() for s in sections)
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(intro)}</p><p class='meta'>{html.escape(meta)}</p>"
        f"<nav><h2>Contents</h2><ul>{toc}</ul></nav>{body}</body></html>\n"
    )
