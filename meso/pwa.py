"""The installable shell: the service worker at /sw.js, the web app manifest and the offline page.

The worker's source lives in static/sw.js but is served from the root, so that its scope is the
whole site. Its BUILD line is filled in here with a hash of every file it precaches: change the
CSS, a script or the offline page and the worker's bytes change too, so browsers install the new
version (and its new cache) instead of serving a stale shell forever.

Languages: pages register the worker as /sw.js?lang=xx and link the manifest as
/manifest.webmanifest?lang=xx, in the language they are in (meso/locales.py). The worker
precaches the offline page of that language (/offline?lang=xx) and keeps it: a phone offline
shows the patient's language, whatever its browser's. A patient who switches language next
opens a page that registers /sw.js?lang=<new>, a new script, so the browser installs a new
worker with the new offline page.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import cast

from flask import Blueprint, current_app, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from meso import locales
from meso.config import TRANSLATIONS
from meso.formatting import lang_tag

bp = Blueprint("pwa", __name__)

# The line of static/sw.js that /sw.js replaces with the real build (see service_worker below).
BUILD_PLACEHOLDER = 'const BUILD = { version: "dev", shell: [] };'

THEME_COLOR = "#0d5c58"
BACKGROUND_COLOR = "#f5f7f6"

# Static files the offline shell needs besides every stylesheet and script (icons, mostly).
SHELL_ICONS = ("icons/icon.svg", "icons/icon-192.png")
# Templates the precached offline page is rendered from: a change to them is a new version.
SHELL_TEMPLATES = ("base.html", "patient/offline.html")


def shell_files() -> list[str]:
    """Return the static files to precache, relative to static/: all CSS and JS, a few icons."""
    static = Path(cast(str, current_app.static_folder))  # create_app always sets it
    found = sorted(
        str(path.relative_to(static))
        for pattern in ("css/*.css", "js/*.js")
        for path in static.glob(pattern)
    )
    return found + [name for name in SHELL_ICONS if (static / name).exists()]


def shell_urls(files: list[str], lang: str) -> list[str]:
    urls = [url_for("static", filename=name) for name in files]
    return [*urls, url_for("pwa.offline", lang=lang), url_for("pwa.manifest", lang=lang)]


def shell_version(files: list[str], lang: str) -> str:
    """Hash everything the worker precaches, so any change to the shell is a new version:
    its files, the offline page's templates, and the language with its catalogue."""
    digest = hashlib.sha256(lang.encode() + b"\0")
    catalogue = TRANSLATIONS / lang / "LC_MESSAGES" / "messages.mo"
    if catalogue.exists():
        digest.update(catalogue.read_bytes())
    static = Path(cast(str, current_app.static_folder))
    templates = Path(cast(str, current_app.template_folder))
    for path in [static / name for name in files] + [templates / n for n in SHELL_TEMPLATES]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


@bp.get("/sw.js")
def service_worker():
    source = (Path(current_app.static_folder) / "sw.js").read_text(encoding="utf-8")
    if BUILD_PLACEHOLDER not in source:
        raise RuntimeError("static/sw.js lost its BUILD line; meso/pwa.py fills it in")
    files = shell_files()
    lang = locales.language_of(get_locale())  # ?lang=, else the browser's (meso/locales.py)
    build = {"version": shell_version(files, lang), "shell": shell_urls(files, lang),
             "offline": url_for("pwa.offline", lang=lang)}
    body = source.replace(BUILD_PLACEHOLDER, f"const BUILD = {json.dumps(build)};", 1)
    response = current_app.response_class(body, mimetype="text/javascript")
    # The worker lives at the root, so its default scope is already "/"; say so explicitly.
    response.headers["Service-Worker-Allowed"] = "/"
    # Browsers must ask for a new worker each time they check for updates (never no-store:
    # that would be fine too, but no-cache with an ETag lets an unchanged worker cost 304).
    response.headers["Cache-Control"] = "no-cache"
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/manifest.webmanifest")
def manifest():
    icon = url_for("static", filename="icons/icon.svg")
    data = {
        "id": "/",
        "name": _("Meso aftercare"),
        "short_name": _("Aftercare"),
        "description": _("Your recovery after mesotherapy, day by day: what is normal, "
                         "what to avoid and until when."),
        "lang": lang_tag(),
        "dir": get_locale().text_direction,
        "start_url": url_for("patient.today"),
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "theme_color": THEME_COLOR,
        "background_color": BACKGROUND_COLOR,
        "icons": [
            {"src": url_for("static", filename="icons/icon-192.png"), "sizes": "192x192",
             "type": "image/png", "purpose": "any"},
            {"src": url_for("static", filename="icons/icon-512.png"), "sizes": "512x512",
             "type": "image/png", "purpose": "any"},
            {"src": url_for("static", filename="icons/icon-maskable-512.png"),
             "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
            {"src": icon, "sizes": "any", "type": "image/svg+xml", "purpose": "any"},
        ],
    }
    response = current_app.response_class(
        json.dumps(data, ensure_ascii=False), mimetype="application/manifest+json"
    )
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/offline")
def offline():
    """The page the service worker shows for a page it cannot fetch and has no copy of."""
    return render_template("patient/offline.html")
