"""The tests' own tools (helpers.py) do what the tests rely on them for."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import helpers
import pytest
from helpers import (
    assert_no_inline_code,
    csrf_meta,
    field_error,
    frozen,
    page_html,
    screenshot,
    text_of,
    wait_until,
)

AT = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


def test_frozen_stops_the_clock_at_the_instant():
    with frozen(AT):
        first = datetime.now(UTC)
        time.sleep(0.01)
        assert datetime.now(UTC) == first == AT
        assert time.time() == AT.timestamp()
    assert datetime.now(UTC) > AT + timedelta(days=1)  # the real clock again


def test_frozen_wants_an_aware_instant():
    with pytest.raises(AssertionError, match="aware"):
        frozen(datetime(2026, 11, 21, 8, 0))


def test_wait_until_returns_the_first_truthy_answer():
    answers = iter([None, [], ["found"]])
    assert wait_until(lambda: next(answers), timeout=5) == ["found"]


def test_wait_until_fails_naming_what_it_waited_for():
    started = time.monotonic()
    with pytest.raises(AssertionError, match="timed out waiting for the moon"):
        wait_until(lambda: False, timeout=0.3, message="the moon")
    assert 0.3 <= time.monotonic() - started < 5


PAGE = """<!doctype html><html><head>
<meta name="csrf-token" content="tok-123"><script src="/static/js/app.js" defer></script>
</head><body><div class="field has-error"><label for="email">Email</label>
<input id="email" name="email" aria-invalid="true">
<p class="error" id="email-error">This field is required.</p></div>
<p>Hello
   <strong>Maria</strong> &amp; co</p></body></html>"""


def test_page_html_answers_css_queries_on_markup_and_responses(client):
    assert page_html(PAGE).select_one('input[aria-invalid="true"]')["id"] == "email"
    assert page_html(client.get("/staff/sign-in")).select_one("h1").get_text() == (
        "Staff sign-in")


def test_text_of_is_the_visible_text_whitespace_collapsed():
    assert text_of(page_html(PAGE).select("p")[-1]) == "Hello Maria & co"
    assert text_of("<b>a</b>\n  <i>b</i>") == "a b"


def test_csrf_meta_and_field_error():
    assert csrf_meta(PAGE) == "tok-123"
    assert field_error(PAGE, "email") == "This field is required."
    assert field_error(PAGE, "password") is None
    with pytest.raises(AssertionError, match="no csrf-token meta"):
        csrf_meta("<html><head></head></html>")


@pytest.mark.parametrize(("markup", "found"), [
    ("<script>alert(1)</script>", "inline <script>"),
    ("<style>p {}</style>", "inline <style>"),
    ('<p style="color: red">x</p>', "style= attribute"),
    ('<button onclick="go()">x</button>', "inline event handlers"),
])
def test_assert_no_inline_code_finds_each_kind(markup, found):
    assert_no_inline_code(PAGE)  # scripts from files only: fine
    with pytest.raises(AssertionError, match=re.escape(found)):
        assert_no_inline_code(PAGE.replace("</body>", markup + "</body>"))


class FakeTarget:
    """Stands for a Playwright page or locator: writes what it was asked to."""

    def screenshot(self, path: str, **options) -> None:
        Path(path).write_text(repr(options))


@pytest.fixture
def shot_folders(tmp_path, monkeypatch):
    artifacts, readme = tmp_path / "artifacts", tmp_path / "docs"
    monkeypatch.setattr(helpers, "SCREENSHOTS", artifacts)
    monkeypatch.setattr(helpers, "README_SCREENSHOTS", readme)
    return artifacts, readme


@pytest.mark.parametrize(("readme", "env", "where"), [
    (False, None, "artifacts"), (True, None, "artifacts"), (False, "1", "artifacts"),
    (True, "1", "docs"),
])
def test_screenshots_go_to_the_ignored_folder_unless_retaking_the_readme_s(
        shot_folders, monkeypatch, readme, env, where):
    if env is None:
        monkeypatch.delenv("MESO_README_SCREENSHOTS", raising=False)
    else:
        monkeypatch.setenv("MESO_README_SCREENSHOTS", env)
    path = screenshot(FakeTarget(), "today.png", readme=readme, full_page=True)
    assert path.parent.name == where and path.read_text() == "{'full_page': True}"


def test_the_ignored_folder_is_ignored_by_git():
    ignored = (helpers.ROOT / ".gitignore").read_text().split()
    assert helpers.SCREENSHOTS.relative_to(helpers.ROOT).parts[0] + "/" in ignored


def test_docs_screenshots_are_exactly_the_readme_s():
    """The folder holds the pictures the README shows, and nothing a test run leaves."""
    readme = page_html((helpers.ROOT / "README.md").read_text())
    shown = {Path(img["src"]).name for img in readme.select('img[src^="docs/screenshots/"]')}
    assert shown == {"today.png", "timeline.png"}
    assert {p.name for p in helpers.README_SCREENSHOTS.iterdir()} == shown
