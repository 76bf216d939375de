"""MkDocs hook: a command page's option list is ``backproplab <command> --help`` itself, pasted in when the
guide is built, so the two never drift. In a page, ``<!-- backproplab-help: data verify -->`` becomes that
command's ``--help`` output, wrapped at :data:`WIDTH` columns (``tests/test_docs.py`` checks each page
against the real command).
"""

from __future__ import annotations

import os
import re
from typing import Any

WIDTH = 100
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


def on_page_markdown(markdown: str, **_: Any) -> str:
    return MARKER.sub(lambda m: f"```text\n{help_text(m.group(1)).rstrip()}\n```", markdown)
