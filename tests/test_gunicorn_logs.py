"""`gunicorn app:app` logs through the app's configuration (gunicorn.conf.py): JSON lines,
access lines with the request id the app returned, tokens and search terms never in them."""

from __future__ import annotations

import json
import uuid

import pytest
import requests
from conftest import create_clinic, enrol_patient
from gunicorn_server import Gunicorn

pytestmark = pytest.mark.sqlite  # its server uses the test's SQLite file


def test_gunicorn_writes_redacted_json_lines_with_request_ids(app, tmp_path):
    _, token = enrol_patient(create_clinic(), name="Zelda Canary")
    incoming = str(uuid.uuid4())
    with Gunicorn(tmp_path, app.config["SQLALCHEMY_DATABASE_URI"], workers=1) as server:
        invite = requests.get(f"{server.base}/i/{token}", headers={"X-Request-ID": incoming},
                              allow_redirects=False, timeout=30)
        search = requests.get(f"{server.base}/staff/", params={"q": "Zelda Canary"},
                              allow_redirects=False, timeout=30)
        missing = requests.get(f"{server.base}/no-such-page", timeout=30)
    assert invite.headers["X-Request-ID"] == incoming
    entries = [json.loads(line) for line in server.lines()]  # every line is JSON
    assert any(e["logger"] == "gunicorn.error" and e["message"].startswith("Listening at")
               for e in entries)
    access = {e["request_id"]: e for e in entries if e["logger"] == "gunicorn.access"}
    assert access[incoming]["path"] == "/i/[redacted]"
    assert access[incoming]["message"].startswith("GET /i/[redacted] ")
    assert access[incoming]["status"] == invite.status_code
    # The search is logged as its path alone: no query string, so no name.
    assert access[search.headers["X-Request-ID"]]["message"].startswith("GET /staff/ 302 ")
    assert access[missing.headers["X-Request-ID"]]["status"] == 404
    assert token not in server.output() and "Zelda" not in server.output()
