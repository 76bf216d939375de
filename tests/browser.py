"""A page opened from disk in a real browser: Debian's headless chromium driven by Playwright (never a
browser download; `make test` and CI install chromium first with .ci/install-chromium).

Every request that is not a ``file:`` URL is aborted and recorded, so a test can prove a page works offline.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from typing import Any

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextlib.contextmanager
def offline_page(width: int = 1280, height: int = 900) -> Iterator[tuple[Any, dict[str, list[str]]]]:
    """``(page, seen)``: a fresh page, and what it did: ``errors`` (console errors, page errors, failed
    requests, dialogs), ``requests`` (every URL asked for) and ``remote`` (the non-``file:`` ones, aborted)."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    assert chromium, "chromium is missing: run .ci/install-chromium (make test does)"
    seen: dict[str, list[str]] = {"errors": [], "requests": [], "remote": []}

    def route(r: Any) -> None:
        if r.request.url.startswith("file:"):
            r.continue_()
        else:
            seen["remote"].append(r.request.url)
            r.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            context.route("**/*", route)
            page = context.new_page()
            page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: seen["errors"].append(str(e)))
            page.on("requestfailed", lambda r: seen["errors"].append(f"failed: {r.url}"))
            page.on("request", lambda r: seen["requests"].append(r.url))
            page.on("dialog", lambda d: (seen["errors"].append(f"dialog: {d.message}"), d.dismiss()))
            yield page, seen
        finally:
            browser.close()
