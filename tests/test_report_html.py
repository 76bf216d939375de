"""Every builder of the report's page escapes what it is given: a hostile string sent through each one
comes back from the standard library's HTML parser as the same text (or attribute value), and adds no
element or attribute of its own."""

from __future__ import annotations

from collections.abc import Callable
from html.parser import HTMLParser

import pytest

from backproplab.report.html import Section, code, link, markup, render_page

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
