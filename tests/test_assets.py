"""Compressed and cacheable: pages and JSON in brotli or gzip, static files under hashed names,
precompressed, cached for a year (meso/assets.py, Flask-Compress)."""

from __future__ import annotations

import gzip
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import brotli
import pytest
from conftest import create_clinic, enrol_patient, open_invite
from flask import url_for
from helpers import page_html, unhashed

from meso import assets, create_app

SESSION = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
HASHED = re.compile(r"^/static/[\w/-]+\.[0-9a-f]{12}\.\w+$")


@pytest.fixture
def phone(app):
    _, token = enrol_patient(create_clinic(), first_session=SESSION)
    browser = app.test_client()
    assert open_invite(browser, token).status_code == 303
    return browser


def asset_urls(response) -> list[str]:
    html = page_html(response)
    return [tag.get("href") or tag["src"] for tag in html.select(
        'link[rel="stylesheet"], link[rel="icon"], link[rel="apple-touch-icon"], script[src]')]


def test_pages_name_every_static_file_by_its_content(phone):
    urls = asset_urls(phone.get("/today"))
    assert {"/static/css/app.css", "/static/js/app.js", "/static/js/common.js",
            "/static/icons/icon.svg"} <= {unhashed(url) for url in urls}
    for url in urls:
        assert HASHED.match(url), url


def test_a_hashed_file_is_cached_for_a_year_and_carries_the_usual_headers(phone):
    url = next(u for u in asset_urls(phone.get("/today")) if unhashed(u) == "/static/css/app.css")
    response = phone.get(url)
    assert response.status_code == 200
    assert response.mimetype == "text/css"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Access-Control-Allow-Origin" not in response.headers
    assert response.data == (Path(phone.application.static_folder)
                             / "css" / "app.css").read_bytes()


@pytest.mark.parametrize(("accept", "encoding", "unpack"), [
    ("br, gzip", "br", brotli.decompress),
    ("gzip", "gzip", gzip.decompress),
    ("identity", None, lambda body: body),
])
def test_static_files_travel_precompressed_as_the_browser_accepts(phone, accept, encoding,
                                                                  unpack):
    url = next(u for u in asset_urls(phone.get("/today")) if unhashed(u) == "/static/js/app.js")
    plain = phone.get(url, headers={"Accept-Encoding": "identity"}).data
    response = phone.get(url, headers={"Accept-Encoding": accept})
    assert response.headers.get("Content-Encoding") == encoding
    assert "Accept-Encoding" in response.headers["Vary"]
    assert unpack(response.data) == plain
    if encoding:
        assert len(response.data) < len(plain) / 2


# Today and the Timeline prefer gzip, spliced from pieces compressed once (meso/gzip_splice.py);
# JSON goes in brotli when the browser takes it.
@pytest.mark.parametrize(("path", "accept", "encoding", "unpack"), [
    *((path, accept, encoding, unpack) for path in ("/today", "/timeline")
      for accept, encoding, unpack in (("gzip, deflate, br", "gzip", gzip.decompress),
                                       ("gzip", "gzip", gzip.decompress),
                                       ("br", "br", brotli.decompress))),
    ("/api/plan", "gzip, deflate, br", "br", brotli.decompress),
    ("/api/plan", "gzip", "gzip", gzip.decompress),
])
def test_pages_and_json_are_compressed_as_the_browser_accepts(phone, path, accept, encoding,
                                                              unpack):
    plain = phone.get(path, headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    response = phone.get(path, headers={"Accept-Encoding": accept})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in response.headers["Vary"]
    assert response.headers["Cache-Control"] == "no-store"  # health data: never kept on the way
    body = unpack(response.data)
    assert len(response.data) < len(body) / 2
    if path == "/api/plan":
        assert json.loads(body) == plain.get_json()


def test_imports_between_scripts_name_the_hashed_files(phone):
    url = next(u for u in asset_urls(phone.get("/today")) if unhashed(u) == "/static/js/app.js")
    source = phone.get(url, headers={"Accept-Encoding": "identity"}).get_data(as_text=True)
    imports = re.findall(r'from "(\./[\w.-]+\.js)"', source)
    assert imports and all(re.fullmatch(r"\./[\w-]+\.[0-9a-f]{12}\.js", name)
                           for name in imports), imports
    for name in imports:
        assert phone.get("/static/js/" + name[2:]).status_code == 200


def test_original_names_still_answer_but_are_revalidated(client):
    """The service worker's importScripts and pages cached before a release use them."""
    response = client.get("/static/js/sw-push.js")
    assert response.status_code == 200
    assert "immutable" not in response.headers.get("Cache-Control", "")
    response.close()


def test_hashed_files_answer_only_for_the_apps_own_host(app, phone):
    url = asset_urls(phone.get("/today"))[0]
    assert app.test_client().get(url, headers={"Host": "evil.example"}).status_code == 400


def test_the_build_is_named_by_its_input_and_made_once(app, tmp_path):
    static = Path(app.static_folder)
    first = assets.build(static, tmp_path / "a")
    assets._built.clear()
    second = assets.build(static, tmp_path / "b")
    assert first.name == second.name  # the same static/ gives the same folder, anywhere
    assert sorted(p.name for p in first.rglob("*")) == sorted(p.name for p in second.rglob("*"))
    assert assets.build(static, tmp_path / "c") == second  # this process reuses its build


def test_debug_runs_serve_plain_names(tmp_path):
    app = create_app({"DEBUG": True, "SECRET_KEY": "x",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/d.sqlite3"},
                     instance_path=str(tmp_path))
    with app.test_request_context():
        assert url_for("static", filename="js/app.js") == "/static/js/app.js"
