"""The installable shell through the test client: manifest, icons, /sw.js, offline page, budget."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import create_clinic, enrol_patient, open_invite
from helpers import frozen, page_html, unhashed

from meso import pwa

pytestmark = pytest.mark.usefixtures("client")  # makes app.test_client() an IsolatedClient

ROOT = Path(__file__).resolve().parent.parent
SESSION = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 20, 12, 5, tzinfo=UTC)  # 13:05 in Rome, three hours after the session


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (no image library needed)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.fixture
def patient_browser(app):
    clinic = create_clinic()
    _, token = enrol_patient(clinic, first_session=SESSION)
    browser = app.test_client()
    assert open_invite(browser, token).status_code == 303
    return browser


# -- manifest and icons ---------------------------------------------------------------------

def test_manifest_is_served_with_its_type_and_fields(client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    manifest = json.loads(response.data)
    assert manifest["name"] == "Meso aftercare"
    assert manifest["short_name"] == "Aftercare"
    assert manifest["start_url"] == "/today"
    assert manifest["scope"] == "/"
    assert manifest["display"] == "standalone"
    assert manifest["lang"] == "en-GB"
    assert manifest["description"]
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["theme_color"])
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["background_color"])


def test_manifest_icons_exist_at_the_sizes_claimed(client):
    icons = json.loads(client.get("/manifest.webmanifest").data)["icons"]
    pngs = [icon for icon in icons if icon["type"] == "image/png"]
    claimed = {(icon["sizes"], icon["purpose"]) for icon in pngs}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= claimed
    for icon in pngs:
        response = client.get(icon["src"])
        assert response.status_code == 200, icon["src"]
        assert response.mimetype == "image/png"
        width, height = (int(n) for n in icon["sizes"].split("x"))
        assert png_size(response.data) == (width, height), icon["src"]
        response.close()
    [svg] = [icon for icon in icons if icon["type"] == "image/svg+xml"]
    response = client.get(svg["src"])
    assert response.status_code == 200 and b"<svg" in response.data
    response.close()


def test_maskable_icon_is_full_bleed():
    """Launchers cut their own shape: the maskable source has no rounded corners."""
    svg = page_html((ROOT / "static/icons/icon-maskable.svg").read_text())
    background = svg.select_one("svg > rect")
    assert (background["width"], background["height"]) == ("512", "512")
    assert background.has_attr("fill") and not background.has_attr("rx")


@pytest.mark.parametrize("path", ["/today", "/timeline", "/offline", "/staff/sign-in"])
def test_every_page_links_manifest_icons_and_app_script(app, patient_browser, path):
    html = patient_browser.get(path).get_data(as_text=True)
    # In the page's language (the patient's: English here), so an installed app keeps it.
    assert '<link rel="manifest" href="/manifest.webmanifest?lang=en">' in html
    touch = page_html(html).select_one('link[rel="apple-touch-icon"]')["href"]
    icon = patient_browser.get(touch)
    assert png_size(icon.data) == (180, 180)
    icon.close()
    assert '<meta name="apple-mobile-web-app-capable" content="yes">' in html
    assert '<meta name="apple-mobile-web-app-status-bar-style" content="default">' in html
    scripts = [unhashed(tag["src"]) for tag in page_html(html).select('script[type="module"]')]
    assert "/static/js/app.js" in scripts


# -- the service worker ---------------------------------------------------------------------

def build_of(source: str) -> dict:
    match = re.search(r"^const BUILD = (\{.*\});$", source, re.MULTILINE)
    assert match, "the BUILD line was not filled in"
    return json.loads(match.group(1))


def test_service_worker_is_served_from_the_root(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert response.headers["Cache-Control"] == "no-cache"
    source = response.get_data(as_text=True)
    assert pwa.BUILD_PLACEHOLDER not in source
    build = build_of(source)
    assert re.fullmatch(r"[0-9a-f]{16}", build["version"])
    assert {"/static/css/app.css", "/static/js/app.js", "/static/js/countdown.js",
            "/static/icons/icon.svg", "/static/icons/icon-192.png", "/offline?lang=en",
            "/manifest.webmanifest?lang=en"} <= {unhashed(url) for url in build["shell"]}
    assert build["offline"] == "/offline?lang=en"  # a request without ?lang: the browser's
    # The shell's files are the hashed, immutable ones the pages load.
    assert "/static/css/app.css" not in build["shell"]


def test_every_precached_url_answers(client):
    """One missing file and cache.addAll fails: the worker would never install."""
    for url in build_of(client.get("/sw.js").get_data(as_text=True))["shell"]:
        response = client.get(url)
        assert response.status_code == 200, url
        response.close()


def test_unchanged_worker_costs_a_304(client):
    etag = client.get("/sw.js").headers["ETag"]
    assert client.get("/sw.js", headers={"If-None-Match": etag}).status_code == 304


def test_a_changed_shell_file_is_a_new_version(app, client, tmp_path):
    """Browsers install a new worker only when its bytes change: a CSS change must do that."""
    before = build_of(client.get("/sw.js").get_data(as_text=True))
    static = tmp_path / "static"
    shutil.copytree(app.static_folder, static)
    app.static_folder = str(static)
    same = build_of(client.get("/sw.js").get_data(as_text=True))
    with (static / "css" / "app.css").open("a") as css:
        css.write("\n.new-rule { color: red; }\n")
    after = build_of(client.get("/sw.js").get_data(as_text=True))
    assert same["version"] == before["version"]
    assert after["version"] != before["version"]
    assert after["shell"] == before["shell"]


def test_a_lost_build_line_is_an_error_not_a_silent_stale_worker(app, client, tmp_path):
    static = tmp_path / "static"
    shutil.copytree(app.static_folder, static)
    source = (static / "sw.js").read_text()
    (static / "sw.js").write_text(source.replace(pwa.BUILD_PLACEHOLDER, "const BUILD = {};"))
    app.static_folder = str(static)
    with pytest.raises(RuntimeError, match="BUILD line"):
        client.get("/sw.js")


def test_worker_never_stores_staff_pages():
    """Only the listed patient paths are ever put in the pages cache (the browser test proves
    a staff page offline gets the offline page); staff navigations skip the store entirely."""
    source = (ROOT / "static/sw.js").read_text()
    assert 'const KEPT = ["/today", "/timeline", "/api/plan"];' in source
    assert source.count("cache.put(") == 1
    assert 'url.pathname.startsWith("/staff/")' in source


# -- offline page and note ------------------------------------------------------------------

def test_offline_page_needs_no_sign_in_and_names_nobody(app, patient_browser):
    response = app.test_client().get("/offline")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "You are offline" in html
    assert '<a class="button primary" href="">Try again</a>' in html
    assert "Maria" not in html and "Clinica Roma" not in html


def test_patient_pages_carry_one_offline_note_in_local_time(patient_browser):
    with frozen(NOW):
        for path in ("/today", "/timeline", "/checkins/new"):
            html = patient_browser.get(path).get_data(as_text=True)
            # static/sw.js flips exactly this attribute on the stored copy.
            assert html.count('data-served="network"') == 1, path
            assert 'data-rendered-at="2026-11-20T13:05:00+01:00"' in html
            assert "Offline — updated at 13:05" in html
            assert 'data-t-earlier="Offline — updated Fri 20 Nov, 13:05"' in html


def test_staff_pages_have_no_offline_note(client):
    assert 'data-served="network"' not in client.get("/staff/sign-in").get_data(as_text=True)


# -- performance budget ---------------------------------------------------------------------

def load_bench():
    spec = importlib.util.spec_from_file_location("today_budget", ROOT / "bench/today_budget.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_today_first_load_is_within_30_kb_on_the_wire(app):
    """HTML + CSS + JS of Today on its busiest day (every restriction running), as they
    travel to a browser that accepts brotli and gzip."""
    bench = load_bench()
    clinic = create_clinic()
    _, token = enrol_patient(clinic, first_session=datetime.now(UTC) - timedelta(hours=3))
    browser = app.test_client()
    assert open_invite(browser, token).status_code == 303
    resources = bench.first_load(browser)
    urls = [unhashed(url) for url, _ in resources]
    assert "/static/css/app.css" in urls and "/static/js/app.js" in urls
    total = sum(len(body) for _, body in resources)
    assert total <= bench.BUDGET == 30 * 1024, f"{total} bytes: {urls}"
    raw = sum(len(body) for _, body in bench.first_load(browser, encoding="identity"))
    assert raw > 40 * 1024, "the page and its files shrank so much the budget says nothing"


def test_today_loads_nothing_from_elsewhere_and_blocks_on_nothing_but_its_css(patient_browser):
    html = page_html(patient_browser.get("/today"))
    urls = [tag[name] for tag in html.select("[href], [src]") for name in ("href", "src")
            if tag.has_attr(name)]
    assert "/static/css/app.css" in [unhashed(url) for url in urls]
    for url in urls:
        assert not url.startswith(("http:", "https:", "//")), f"third-party request: {url}"
    stylesheets = html.select('link[rel="stylesheet"]')
    assert [unhashed(link["href"]) for link in stylesheets] == ["/static/css/app.css"]
    assert stylesheets[0].find_parent("head"), "the stylesheet is in <head>"
    for script in html.select("script"):
        # Module scripts are deferred by nature; any other must say defer or async.
        assert (script.get("type") == "module" or script.has_attr("defer")
                or script.has_attr("async")), script
