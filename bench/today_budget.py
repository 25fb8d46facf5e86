"""Performance budget for /today on first load: HTML + CSS + JS on the wire, at most 30 KB.

    .venv/bin/python bench/today_budget.py      # the .venv `make test` sets up

Enrols a patient in a throwaway SQLite database, opens Today on their busiest day (the first
hours after a session: every restriction running, the check-in card showing), fetches the page
and every stylesheet and script it references as a browser does (Accept-Encoding: br, gzip),
and prints their sizes as they travel and unpacked. Exits 1 when the total is over budget.
tests/test_pwa.py asserts the same budget; `make bench` prints it.
"""

from __future__ import annotations

import gzip
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import brotli
from bs4 import BeautifulSoup

BUDGET = 30 * 1024


def first_load(client, path: str = "/today",
               encoding: str = "br, gzip") -> list[tuple[str, bytes]]:
    """Return (url, body) for the page and each stylesheet and script it loads, each body as
    it travels when the browser accepts ``encoding`` (compressed, when the server does)."""
    headers = {"Accept-Encoding": encoding}
    page = client.get(path, headers=headers)
    assert page.status_code == 200, f"{path} answered {page.status_code}"
    resources = [(path, page.data)]
    html = BeautifulSoup(unpacked(page.data, page.headers.get("Content-Encoding")),
                         "html.parser")
    for tag in html.select('link[rel="stylesheet"][href], script[src]'):
        url = tag.get("href") or tag["src"]
        response = client.get(url, headers=headers)
        assert response.status_code == 200, f"{url} answered {response.status_code}"
        resources.append((url, response.data))
        response.close()
    return resources


def unpacked(body: bytes, encoding: str | None) -> bytes:
    """The body as the browser reads it, whatever it travelled in."""
    if encoding == "br":
        return brotli.decompress(body)
    if encoding == "gzip":
        return gzip.decompress(body)
    assert encoding in (None, "identity"), encoding
    return body


def main() -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from meso import courses, create_app
    from meso.extensions import db
    from meso.models import Clinic

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"SECRET_KEY": "bench", "MESO_BASE_URL": "http://localhost",
                          "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.sqlite3"},
                         instance_path=tmp)
        with app.app_context():
            db.create_all()
            clinic = Clinic(name="Clinica Roma", phone="+39 06 1234 5678")
            db.session.add(clinic)
            session = datetime.now(UTC) - timedelta(hours=3)
            data = courses.Enrolment("Maria Rossi", "face", session, "Europe/Rome", 6, 3)
            _, token = courses.enrol(clinic, data, invite_days=14)
            db.session.commit()
            client = app.test_client()
            # The invite landing's button (a POST with the page's CSRF token) opens Today.
            landing = BeautifulSoup(client.get(f"/i/{token}").get_data(as_text=True),
                                    "html.parser")
            csrf = landing.select_one('meta[name="csrf-token"]')["content"]
            client.post(f"/i/{token}", data={"csrf_token": csrf})
            wire = first_load(client)
            raw = first_load(client, encoding="identity")
    total = sum(len(body) for _, body in wire)
    print(f"{'resource':40} {'wire':>8} {'raw':>8}")
    for (url, body), (_, plain) in zip(wire, raw, strict=True):
        print(f"{url:40} {len(body):8} {len(plain):8}")
    print(f"{'total':40} {total:8} {sum(len(b) for _, b in raw):8}")
    print(f"budget {BUDGET} bytes on the wire: {'OK' if total <= BUDGET else 'OVER'}")
    return 0 if total <= BUDGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
