"""HSTS on every kind of response outside debug, beside the headers every response had."""

from __future__ import annotations

import pytest

from meso import create_app

HSTS = "max-age=31536000"
ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "X-Robots-Tag": "noindex, nofollow",
}


@pytest.fixture
def crashing(app):
    """The app with a route that fails, answered by the 500 page as in production."""
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def boom():
        raise RuntimeError("boom")

    app.add_url_rule("/_boom", "boom", boom)
    return app


RESPONSES = {
    "page": (lambda c: c.get("/staff/sign-in"), 200, "text/html"),
    "json": (lambda c: c.get("/api/plan"), 401, "application/json"),
    "static file": (lambda c: c.get("/static/css/app.css"), 200, "text/css"),
    "service worker": (lambda c: c.get("/sw.js"), 200, "text/javascript"),
    "manifest": (lambda c: c.get("/manifest.webmanifest"), 200, None),
    "404": (lambda c: c.get("/no-such-page"), 404, "text/html"),
    "405": (lambda c: c.get("/staff/sign-out"), 405, "text/html"),
    "413": (lambda c: c.post("/staff/sign-in", data={"x": "y" * 70_000}), 413, "text/html"),
    "500": (lambda c: c.get("/_boom"), 500, "text/html"),
    "CSRF": (lambda c: c.post("/staff/sign-in", data={"email": "a@b.example"}), 400,
             "text/html"),
    "unknown host": (lambda c: c.get("/today", headers={"Host": "evil.example"}), 400,
                     "text/plain"),
}


@pytest.mark.parametrize("kind", RESPONSES)
def test_every_kind_of_response_carries_hsts_and_the_usual_headers(crashing, kind):
    request, status, mimetype = RESPONSES[kind]
    response = request(crashing.test_client())
    assert response.status_code == status
    if mimetype:
        assert response.mimetype == mimetype
    assert response.headers["Strict-Transport-Security"] == HSTS
    for name, value in ALWAYS.items():
        assert response.headers[name] == value, name
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_debug_runs_send_no_hsts(tmp_path):
    """A developer's http://127.0.0.1 must not be pinned to HTTPS for a year."""
    app = create_app({"DEBUG": True, "SECRET_KEY": "x",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"},
                     instance_path=str(tmp_path / "inst"))
    response = app.test_client().get("/staff/sign-in")
    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response.headers
    assert response.headers["X-Frame-Options"] == "DENY"
