"""The tests' own tools, one of each: a frozen clock, a wait, an HTML query, a screenshot.

Fixtures and factories live in conftest.py; these plain functions live here, and every test
imports them from here (``from helpers import frozen, page_html``).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import time_machine
from bs4 import BeautifulSoup, Tag

T = TypeVar("T")

ROOT = Path(__file__).resolve().parent.parent
# Every screenshot a test run takes lands here (git ignores test-artifacts/)...
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
# ...except the README's own pictures, retaken on purpose with `make screenshots`.
README_SCREENSHOTS = ROOT / "docs" / "screenshots"


# -- time ------------------------------------------------------------------------------------


def frozen(at: datetime) -> time_machine.travel:
    """Stop the clock at ``at`` (aware) for a ``with`` block, a fixture or a decorated test.

    datetime.now(), time.time() and the database's Python-side defaults all read ``at`` and
    stay there; time.monotonic() keeps running, so waits and time-outs still work.
    """
    assert at.tzinfo is not None, "freeze the clock at an aware instant"
    return time_machine.travel(at, tick=False)


def wait_until(check: Callable[[], T], timeout: float = 15.0, message: str = "a condition",
               page=None) -> T:
    """Poll ``check`` until it returns something truthy, and return that; fail after ``timeout``.

    For what the database, a process or a service worker holds, which no Playwright locator can
    wait on. With ``page``, the wait goes through Playwright so its events (console, CDP) keep
    arriving.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {message}"
        if page is None:
            time.sleep(0.1)
        else:
            page.wait_for_timeout(100)


# -- HTML ------------------------------------------------------------------------------------


def page_html(source) -> BeautifulSoup:
    """Parse a response (or markup) for CSS queries: ``page_html(response).select_one(css)``."""
    markup = source if isinstance(source, str) else source.get_data(as_text=True)
    return BeautifulSoup(markup, "html.parser")


def text_of(node: Tag | str) -> str:
    """The visible text of an element (or of markup), whitespace collapsed."""
    if isinstance(node, str):
        node = page_html(node)
    return " ".join(node.get_text(" ").split())


def csrf_meta(source) -> str:
    """The CSRF token a page hands out in its ``<meta name="csrf-token">``."""
    meta = page_html(source).select_one('meta[name="csrf-token"]')
    assert meta is not None and meta.get("content"), "no csrf-token meta"
    return str(meta["content"])


def field_error(source, field_id: str) -> str | None:
    """The error message shown next to a form field, or None."""
    error = page_html(source).select_one(f"p.error#{field_id}-error")
    return error.get_text() if error else None


def unhashed(url: str) -> str:
    """A static URL without its content hash (meso/assets.py): /static/js/app.1a2b3c4d5e6f.js
    is /static/js/app.js."""
    return re.sub(r"^(/static/.+)\.[0-9a-f]{12}(\.\w+)$", r"\1\2", url)


def assert_no_inline_code(source) -> None:
    """Strict CSP: scripts and styles come from files, never from the page itself."""
    html = page_html(source)
    assert not html.select("script:not([src])"), "inline <script>"
    assert not html.select("style"), "inline <style>"
    assert not html.select("[style]"), "style= attribute"
    handlers = [(tag.name, name) for tag in html.find_all(True) for name in tag.attrs
                if name.startswith("on")]
    assert not handlers, f"inline event handlers: {handlers}"


# -- screenshots -----------------------------------------------------------------------------


def screenshot(target, name: str, readme: bool = False, **options) -> Path:
    """Save a screenshot of a page or locator as ``name``; return where it went.

    Always under test-artifacts/screenshots/. A ``readme`` picture goes to docs/screenshots/
    instead when MESO_README_SCREENSHOTS=1 (`make screenshots`), so an ordinary test run never
    changes a file git tracks.
    """
    on_purpose = readme and os.environ.get("MESO_README_SCREENSHOTS") == "1"
    folder = README_SCREENSHOTS if on_purpose else SCREENSHOTS
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    target.screenshot(path=str(path), **options)
    return path
