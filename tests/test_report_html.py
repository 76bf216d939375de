"""Every builder of the report's page escapes what it is given: a hostile string sent through each one
comes back from the standard library's HTML parser as the same text (or attribute value), and adds no
element or attribute of its own."""

from __future__ import annotations

import base64
import html
from collections.abc import Callable
from html.parser import HTMLParser

import pytest

from backproplab.report.html import Section, code, data_uri_embed, figure_id, link, markup, render_page, tex

HOSTILE = "<script>alert('x')</script><b onclick=\"steal()\">&amp; 'q' \"qq\"</b>"


class _Page(HTMLParser):
    """Tags, attribute values and text chunks of a page, as a browser's tokenizer reads them."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []
        self.texts: list[str] = []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += attrs

    def handle_data(self, data: str) -> None:
        self.texts.append(data)


def _section(build: Callable[[Section], Section]) -> str:
    return build(Section("Title", "anchor")).render()


# builder -> (page, times the string comes back as text, times as an attribute value)
CASES: dict[str, tuple[Callable[[], str], int, int]] = {
    "paragraph": (lambda: _section(lambda s: s.paragraph(HOSTILE)), 1, 0),
    "markup and code": (lambda: _section(lambda s: s.paragraph(markup(HOSTILE, code(HOSTILE)))), 2, 0),
    "bullets": (lambda: _section(lambda s: s.bullets([HOSTILE, markup(HOSTILE)])), 2, 0),
    "heading": (lambda: _section(lambda s: s.heading(HOSTILE, anchor=HOSTILE)), 1, 1),
    "table": (
        lambda: _section(
            lambda s: s.table(
                [HOSTILE], [[HOSTILE], [markup(HOSTILE)]], caption=HOSTILE, anchor=HOSTILE, css_class=HOSTILE
            )
        ),
        4,
        2,
    ),
    "figure caption": (lambda: _section(lambda s: s.figure("figures/a.png", HOSTILE)), 1, 1),
    "derivation": (lambda: _section(lambda s: s.derivation([("x", HOSTILE)], anchor=HOSTILE)), 1, 1),
    "link": (lambda: _section(lambda s: s.paragraph(link(HOSTILE, HOSTILE))), 1, 0),
    "section": (lambda: Section(HOSTILE, HOSTILE).render(), 1, 1),
    "page": (lambda: render_page(HOSTILE, HOSTILE, [Section(HOSTILE, HOSTILE)], HOSTILE), 6, 1),
}


@pytest.mark.parametrize("builder", CASES)
def test_every_builder_escapes_a_hostile_string(builder) -> None:
    make, as_text, as_attribute = CASES[builder]
    page = _Page(make())
    assert "script" not in page.tags and "b" not in page.tags
    assert "onclick" not in {name for name, _ in page.attributes}
    assert page.texts.count(HOSTILE) == as_text
    assert [value for _, value in page.attributes].count(HOSTILE) == as_attribute


def test_a_link_keeps_its_hostile_anchor_as_the_fragment() -> None:
    page = _Page(_section(lambda s: s.paragraph(link(HOSTILE, "x"))))
    assert ("href", "#" + HOSTILE) in page.attributes


class _Canonical(HTMLParser):
    """A page as a browser reads it, written back one way: tag and attribute names in lower case,
    attributes sorted, text escaped alike, the style sheet's text left out."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.feed(page)
        self.close()
        self.text = "".join(self.parts)

    def handle_decl(self, decl: str) -> None:
        self.parts.append(f"<!{decl.lower()}>")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.parts.append(f"<{tag}" + "".join(f' {k}="{html.escape(v or "")}"' for k, v in sorted(attrs)) + ">")

    def handle_endtag(self, tag: str) -> None:
        self.parts.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if self.lasttag != "style":
            self.parts.append(html.escape(data, quote=False))


MATH = '<math display="{}" xmlns="http://www.w3.org/1998/Math/MathML"><mrow><mi>x</mi></mrow></math>'


def test_the_page_has_the_structure_each_builder_promises(tmp_path) -> None:
    lead = Section("Lead", "lead").paragraph("l")
    section = (
        Section("One", "one")
        .paragraph(markup("p ", code("c"), " ", tex("x"), " ", link("two", "to two")))
        .heading("h")
        .heading("h2", anchor="h-2")
        .bullets(["a", markup(code("b"))])
        .figure("figures/grid-moons/a.png", markup("see ", code("c")), width="640px")
        .table(["k", "v"], [["a", 0.123456], [markup(code("b")), 3]], caption="cap", anchor="t", css_class="map")
        .table(["k"], [])
        .equation("x")
        .derivation([("x", "why"), ("x", markup(code("w")))], anchor="d")
        .derivation([("x", "w")])
    )
    expected = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta content="width=device-width, initial-scale=1" name="viewport"><title>T</title><style></style></head>'
        '<body><h1>T</h1><p>intro <code>i</code></p><p class="meta">meta</p>'
        '<section id="lead"><h2>Lead</h2><p>l</p></section>'
        '<nav><h2>Contents</h2><ul><li><a href="#one">One</a></li><li><a href="#two">Two</a></li></ul></nav>'
        '<section id="one"><h2>One</h2>'
        f'<p>p <code>c</code> {MATH.format("inline")} <a href="#two">to two</a></p>'
        '<h3>h</h3><h3 id="h-2">h2</h3>'
        "<ul><li>a</li><li><code>b</code></li></ul>"
        '<figure id="fig-grid-moons-a"><a href="figures/grid-moons/a.png">'
        '<img alt="see c" src="figures/grid-moons/a.png" style="max-width:640px"></a>'
        "<figcaption>see <code>c</code></figcaption></figure>"
        '<table class="map" id="t"><caption>cap</caption><thead><tr><th>k</th><th>v</th></tr></thead>'
        "<tbody><tr><td>a</td><td>0.1235</td></tr><tr><td><code>b</code></td><td>3</td></tr></tbody></table>"
        "<table><thead><tr><th>k</th></tr></thead><tbody></tbody></table>"
        f'<div class="equation">{MATH.format("block")}</div>'
        '<table class="derivation" id="d"><tbody>'
        f'<tr><td class="formula">{MATH.format("block")}</td><td class="why">why</td></tr>'
        f'<tr><td class="formula">{MATH.format("block")}</td><td class="why"><code>w</code></td></tr>'
        "</tbody></table>"
        '<table class="derivation"><tbody>'
        f'<tr><td class="formula">{MATH.format("block")}</td><td class="why">w</td></tr>'
        "</tbody></table></section>"
        '<section id="two"><h2>Two</h2></section></body></html>\n'
    )
    page = render_page("T", markup("intro ", code("i")), [section, Section("Two", "two")], "meta", lead=lead)
    assert _Canonical(page).text == expected
    head = '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
    assert _Canonical(render_page("T", "i", [], "m")).text == (
        f'{head}<meta content="width=device-width, initial-scale=1" name="viewport"><title>T</title><style></style>'
        '</head><body><h1>T</h1><p>i</p><p class="meta">m</p><nav><h2>Contents</h2><ul></ul></nav></body></html>\n'
    )
    with_figure = Section("Lead", "lead").figure("figures/l.png", "l")
    page = render_page("T", "i", [], "m", lead=with_figure, embed=lambda src: "/elsewhere/" + src)
    assert '<img alt="l" src="/elsewhere/figures/l.png"' in _Canonical(page).text  # the lead's figures embedded too


@pytest.mark.parametrize(
    ("src", "anchor"),
    [
        ("figures/grid-moons/grid.png", "fig-grid-moons-grid"),
        ("figures/a b.v2.png", "fig-a-b-v2"),  # only the last suffix goes; any other run of odd characters is '-'
        ("figures/Sweep_A/x.svg", "fig-Sweep_A-x"),
        ("plots/x.png", "fig-plots-x"),
    ],
)
def test_figure_id(src, anchor) -> None:
    assert figure_id(src) == anchor


def test_data_uri_embed_inlines_the_file_as_base64_of_its_type(tmp_path) -> None:
    data = bytes(range(256))
    for name in ("a.png", "b.SVG", "c.jpg", "d.bin"):
        (tmp_path / "figures").mkdir(exist_ok=True)
        (tmp_path / "figures" / name).write_bytes(data)
    embed = data_uri_embed(tmp_path)
    encoded = base64.b64encode(data).decode("ascii")
    assert embed("figures/a.png") == f"data:image/png;base64,{encoded}"
    assert embed("figures/b.SVG") == f"data:image/svg+xml;base64,{encoded}"
    assert embed("figures/c.jpg") == f"data:image/jpeg;base64,{encoded}"
    assert embed("figures/d.bin") == f"data:application/octet-stream;base64,{encoded}"
    figure = _Canonical(Section("S", "s").figure("figures/a.png", "cap").render(embed)).text
    # an embedded figure is not wrapped in a link to itself
    assert f'<figure id="fig-a"><img alt="cap" src="data:image/png;base64,{encoded}" style="max-width:100%">' in figure
