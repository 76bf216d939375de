"""MkDocs hook: a command page's option list is ``backproplab <command> --help`` itself, pasted in when the
guide is built, so the two never drift. In a page, ``<!-- backproplab-help: data verify -->`` becomes that
command's ``--help`` output, wrapped at :data:`WIDTH` columns (``tests/test_docs.py`` checks each page
against the real command).
"""

from __future__ import annotations

import os
import re
from typing import Any

WIDTH = 80
MARKER = re.compile(r"<!-- backproplab-help: ([a-z][a-z -]*?) -->")


def help_text(command: str) -> str:
    """What ``backproplab <command> --help`` prints in a terminal :data:`WIDTH` columns wide."""
    from backproplab.cli import subcommand_parsers

    parsers = subcommand_parsers()
    if command not in parsers:
        raise ValueError(f"no command 'backproplab {command}' for a help marker; commands: {', '.join(parsers)}")
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(WIDTH)  # argparse wraps at the terminal's width, read when formatting
    try:
        return parsers[command].format_help()
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved


COMMON_MARKER = "<!-- backproplab-common-flags -->"


def common_flags_table() -> str:
    """The flags several commands share, as a Markdown table, from ``settings.COMMON_FLAGS``."""
    from backproplab.settings import COMMON_FLAGS

    rows = ["| flag | meaning on every command |", "|---|---|"]
    for flag in COMMON_FLAGS.values():
        spellings = ", ".join(f"`{s}{' ' + flag.metavar if flag.metavar else ''}`" for s in (flag.flag, *flag.aliases))
        rows.append(f"| {spellings} | {flag.meaning} |")
    return "\n".join(rows)


def on_page_markdown(markdown: str, **_: Any) -> str:
    markdown = markdown.replace(COMMON_MARKER, common_flags_table())
    return MARKER.sub(lambda m: f"```text\n{help_text(m.group(1)).rstrip()}\n```", markdown)


#: Material's offline plugin runs search from file:// through this shim, which it asks of a CDN; the guide
#: ships the file (iframe-worker 1.0.4, MIT, docs/assets/iframe-worker/) so that nothing is fetched.
SHIM_URL = "https://unpkg.com/iframe-worker/shim"
SHIM_FILE = "assets/iframe-worker/shim.js"


def on_post_page(output: str, page: Any, **_: Any) -> str:
    from mkdocs.utils import get_relative_url

    return output.replace(SHIM_URL, get_relative_url(SHIM_FILE, page.url))


def on_post_template(output_content: str, template_name: str, **_: Any) -> str:
    return output_content.replace(SHIM_URL, SHIM_FILE)  # 404.html and the like sit at the site's root
