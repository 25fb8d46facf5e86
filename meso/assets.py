"""Static files under hashed names, precompressed, cached by browsers for a year (WhiteNoise).

At start-up every file of static/ (but sw.js, which /sw.js serves from the root) is copied
into instance/static-build/<digest of static/>/ under a name holding a hash of its content
(css/app.css → css/app.3f9a0c1b2d4e.css), with .br and .gz beside it. Scripts import each
other as ES modules (``from "./common.js"``): in the copies those imports name the hashed
files too, or a page would load a module twice, under two names, with two states.
url_for("static", filename=...) answers the hashed URL, and WhiteNoise serves the folder
with ``Cache-Control: public, max-age=31536000, immutable`` in the encoding the browser
accepts. A name never changes its bytes, so nothing is ever served stale.

The original names stay on Flask's own static route (the service worker's importScripts,
pages cached before a release). Debug runs skip all this, so an edited file shows at once.
The build is deterministic and named by its input: every worker and machine with the same
static/ builds the same folder, and a second process starting at the same moment keeps
the first one's.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import cast

from flask import Flask
from werkzeug.exceptions import SecurityError
from werkzeug.wsgi import get_host
from whitenoise import WhiteNoise
from whitenoise.compress import Compressor

# Bump when the build's output changes for the same input (a new rewrite, new encodings).
BUILD_FORMAT = "1"
CACHE_CONTROL = "public, max-age=31536000, immutable"
NOT_BUILT = ("sw.js",)  # served from the root by meso/pwa.py, under its own name
MANIFEST = "manifest.json"
COMPRESSIBLE = re.compile(r"\.(css|js|svg|json|webmanifest|txt)$")
# `import … from "./x.js"`, `export … from "./x.js"`, `import "./x.js"`: relative imports.
IMPORT = re.compile(r"""(\bfrom\s*|\bimport\s*)(["'])(\./[\w./-]+\.js)\2""")

# Builds made by this process, by digest: the tests create many apps over one static/.
_built: dict[str, Path] = {}


def init_app(app: Flask, headers: dict[str, str]) -> None:
    """Build the hashed copies, point url_for at them and serve them with ``headers`` (the
    security headers every response carries) and a year's caching."""
    if app.debug:
        return
    static = Path(cast(str, app.static_folder))
    folder = build(static, Path(app.instance_path) / "static-build")
    names = json.loads((folder / MANIFEST).read_text())
    app.extensions["meso_assets"] = names

    @app.url_defaults
    def hashed_static_name(endpoint: str, values: dict) -> None:
        if endpoint == "static" and values.get("filename") in names:
            values["filename"] = names[values["filename"]]

    def add_headers(response_headers, path: str, url: str) -> None:
        response_headers["Cache-Control"] = CACHE_CONTROL
        for name, value in headers.items():
            response_headers[name] = value

    served = HashedFiles(app.wsgi_app, app, root=str(folder), prefix="/static/",
                         immutable_file_test=lambda path, url: True, allow_all_origins=False,
                         add_headers_function=add_headers)
    served.files.pop("/static/" + MANIFEST, None)  # the build's index is not an asset
    # Flask's documented way to wrap the WSGI app; mypy sees a method being replaced.
    app.wsgi_app = served  # type: ignore[method-assign]


class HashedFiles(WhiteNoise):
    """WhiteNoise that answers only for the app's own host (TRUSTED_HOSTS), as Flask does:
    any other host goes on to the app, which refuses it."""

    def __init__(self, application, app: Flask, **options):
        super().__init__(application, **options)
        self.flask_app = app

    def __call__(self, environ, start_response):
        try:
            get_host(environ, self.flask_app.config.get("TRUSTED_HOSTS"))
        except SecurityError:
            return self.application(environ, start_response)
        return super().__call__(environ, start_response)


def build(static: Path, root: Path) -> Path:
    """Return the folder of hashed, compressed copies of ``static``, building it if needed."""
    sources = sorted(path for path in static.rglob("*")
                     if path.is_file() and path.relative_to(static).as_posix() not in NOT_BUILT)
    digest = hashlib.sha256(BUILD_FORMAT.encode())
    for path in sources:
        digest.update(path.relative_to(static).as_posix().encode() + b"\0" + path.read_bytes())
    key = digest.hexdigest()[:16]
    known = _built.get(key)
    if known is not None and (known / MANIFEST).exists():
        return known
    folder = root / key
    if not (folder / MANIFEST).exists():
        root.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".building-", dir=root))
        write_build(static, sources, work)
        try:
            work.rename(folder)
        except OSError:  # another process finished the same build first: keep theirs
            shutil.rmtree(work, ignore_errors=True)
    _built[key] = folder
    return folder


def write_build(static: Path, sources: list[Path], folder: Path) -> None:
    names: dict[str, str] = {}
    contents = {path.relative_to(static).as_posix(): path.read_bytes() for path in sources}

    def hashed(name: str, seen: tuple[str, ...] = ()) -> str:
        if name in names:
            return names[name]
        body = contents[name]
        if name.endswith(".js"):
            body = rewrite_imports(name, body, lambda other: hashed(other, (*seen, name))
                                   if other not in seen else other)
        stem, dot, ext = name.rpartition(".")
        names[name] = f"{stem}.{hashlib.sha256(body).hexdigest()[:12]}{dot}{ext}"
        target = folder / names[name]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
        return names[name]

    for name in contents:
        hashed(name)
    compressor = Compressor(quiet=True)
    for name in names.values():
        if COMPRESSIBLE.search(name):
            compressor.compress(str(folder / name))  # writes .br and .gz when smaller
    (folder / MANIFEST).write_text(json.dumps(names, indent=1, sort_keys=True))


def rewrite_imports(name: str, body: bytes, hashed) -> bytes:
    """Point a script's relative imports at the hashed names of the files they import."""
    base = name.rpartition("/")[0]

    def replace(match: re.Match) -> str:
        keyword, quote, target = match.groups()
        resolved = os.path.normpath(f"{base}/{target}" if base else target)
        new = hashed(resolved)
        return f"{keyword}{quote}./{os.path.relpath(new, base or '.')}{quote}"

    return IMPORT.sub(replace, body.decode("utf-8")).encode("utf-8")
