"""Fixtures: app, client, runner, factories, and a live server for the browser tests.

The database is SQLite in a temporary folder unless MESO_TEST_DATABASE_URL names a PostgreSQL
server (`make test` runs the suite a second time there, in a database of its own).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import re
import secrets
import threading
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from helpers import csrf_meta
from helpers import wait_until as wait_until  # re-exported: tests written before helpers.py
from logleaks import pytest_sessionfinish, pytest_sessionstart  # noqa: F401 - leak check hooks
from playwright.sync_api import expect
from werkzeug.serving import make_server

from meso import courses, create_app
from meso.config import base_url_settings
from meso.extensions import db
from meso.models import Clinic, StaffUser
from meso.passwords import hash_password

TEST_DATABASE_URL = os.environ.get("MESO_TEST_DATABASE_URL")
PASSWORD = "correct horse battery"

# A face course of 4 sessions every 3 weeks, first session 2026-11-20 10:00 in Rome, seen on
# 2026-11-21 at 09:00: the plan every face of the app (CLI, /api/plan) must agree on.
DAY_ONE_PLAN = {
    "day": 1,
    "hours_since_session": 23.0,
    "phase": "immediate",
    "area": "face",
    "session": {"number": 1, "of": 4},
    "avoid": [
        {"key": "heat", "until": "2026-11-22T10:00:00+01:00"},
        {"key": "sun", "until": "2026-11-22T10:00:00+01:00"},
        {"key": "makeup", "until": "2026-11-22T10:00:00+01:00"},
        {"key": "exfoliants", "until": "2026-11-27T10:00:00+01:00"},
        {"key": "vitamin_a", "until": "2026-12-04T10:00:00+01:00"},
        {"key": "acids_peels", "until": "2026-12-04T10:00:00+01:00"},
    ],
    "allowed_again": [],
    "next_session": "2026-12-11T10:00:00+01:00",
}


class IsolatedClient(FlaskClient):
    """A test client whose requests run outside the test's app context, as on a real server.

    The `app` fixture keeps an app context pushed for the test's own database work; Flask would
    reuse it for client requests, sharing `g` (a signed-out client looking signed in) and the
    database session (a view that forgets to commit would still pass). An empty context makes
    every request push its own app context, with its own `g` and session.
    """

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture(scope="session")
def server_database_url():
    """A fresh PostgreSQL database for this test run (so parallel runs never collide), or None.

    Created from MESO_TEST_DATABASE_URL's server and dropped at the end of the run.
    """
    if not TEST_DATABASE_URL:
        yield None
        return
    url = sa.engine.make_url(TEST_DATABASE_URL)
    name = f"meso_test_{os.getpid()}_{secrets.token_hex(4)}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def app(tmp_path, server_database_url):
    url = server_database_url or f"sqlite:///{tmp_path / 'test.sqlite3'}"
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key",
            "SQLALCHEMY_DATABASE_URI": url,
            "MESO_BASE_URL": "http://localhost",
        },
        instance_path=str(tmp_path / "instance"),
    )
    app.test_client_class = IsolatedClient
    with app.app_context():
        reset_schema()
        yield app
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def reset_schema() -> None:
    """Start from an empty schema (a shared PostgreSQL database may hold an earlier run's)."""
    db.drop_all()
    with db.engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    db.create_all()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def csrf_token(client, url: str) -> str:
    """Return the CSRF token the page at ``url`` hands out in its <meta name="csrf-token">."""
    return csrf_meta(client.get(url))


def open_invite(client, token: str, *, switch: bool = False):
    """Open an invite link as a patient does: the landing page, then its one button.

    Returns the button's response (a 303 to /today when it worked), or the landing's own when
    it has no button to press (a dead link: 404; a used-up one: 403). ``switch`` answers yes
    to "this phone already has another aftercare open".
    """
    landing = client.get(f"/i/{token}")
    if landing.status_code != 200:
        return landing
    data = {"csrf_token": csrf_meta(landing)}
    if switch:
        data["switch"] = "1"
    return client.post(f"/i/{token}", data=data)


def open_invite_in_browser(page, base: str, token: str) -> None:
    """Open an invite link in Chromium as a patient does: the landing, its button, Today."""
    page.goto(f"{base}/i/{token}")
    page.get_by_role("button", name="Open my aftercare").click()
    expect(page).to_have_url(f"{base}/today")
    # The URL changes when the navigation commits, before the page's module scripts ran: a
    # test that then fires an event (beforeinstallprompt, online) could fire it unheard.
    page.wait_for_load_state("load")


def create_clinic(name="Clinica Roma", phone="+39 06 1234 5678", timezone="Europe/Rome"):
    clinic = Clinic(name=name, phone=phone, timezone=timezone)
    db.session.add(clinic)
    db.session.commit()
    return clinic


def create_staff(clinic, email="anna@clinic.example", password=PASSWORD, role="practitioner"):
    user = StaffUser(clinic=clinic, email=email, password_hash=hash_password(password), role=role)
    db.session.add(user)
    db.session.commit()
    return user


def enrol_patient(clinic, name="Maria Rossi", area="face", first_session=None,
                  timezone="Europe/Rome", sessions=4, interval=3):
    """Enrol a patient and return (patient, invite token)."""
    first_session = first_session or datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    data = courses.Enrolment(name, area, first_session, timezone, sessions, interval)
    patient, token = courses.enrol(clinic, data, invite_days=14)
    db.session.commit()
    return patient, token


def sign_in(client, email="anna@clinic.example", password=PASSWORD):
    token = csrf_token(client, "/staff/sign-in")
    return client.post("/staff/sign-in", data={"email": email, "password": password,
                                               "csrf_token": token})


@pytest.fixture
def live_server(app):
    """Serve the app on 127.0.0.1 in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    app.config.update(base_url_settings(base))  # links, and the one host requests may name
    yield base
    server.shutdown()
    thread.join(timeout=5)


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium through Playwright. Missing Chromium is a failure, never a skip."""
    from playwright.sync_api import sync_playwright

    assert os.path.exists(CHROMIUM), "Chromium is missing: `make test` installs it"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def watch_console(page) -> list[str]:
    """Collect console errors (CSP violations included) so a test can assert there were none."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def enrol_through_form(page, base: str, session_local: datetime) -> str:
    """Sign in as staff, enrol a face patient, and return the invite link the page shows."""
    page.goto(f"{base}/staff/sign-in")
    page.get_by_label("Email").fill("anna@clinic.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Enrol a patient").first.click()
    page.get_by_label("Patient name").fill("Lucia Bianchi")
    page.get_by_label("Treatment area").select_option("face")
    page.get_by_label("First session").fill(session_local.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Planned sessions").fill("4")
    page.get_by_label("Weeks between sessions").fill("3")
    expect(page.get_by_label("Patient's time zone")).to_have_value("Europe/Rome")
    page.get_by_role("button", name="Enrol and get the link").click()
    invite = page.locator("#invite-link")
    expect(invite).to_have_text(re.compile(r"/i/"))
    link = invite.inner_text()
    assert re.fullmatch(rf"{re.escape(base)}/i/[A-Za-z0-9_\-]{{43,}}", link), link
    return link


PHONE = {"viewport": {"width": 360, "height": 780}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True, "locale": "en-GB"}


@pytest.fixture
def vapid(app):
    """Let the app send push: a fresh VAPID key and a subject.

    Returns the public key, as GET /push/key gives it to browsers. Push services stay the
    default list: a fake one is accepted only once listed (fake_push, listed_push_service).
    """
    from meso import push

    app.config.update(
        VAPID_PRIVATE_KEY=push.generate_private_key(),
        VAPID_SUBJECT="mailto:ops@clinic.example",
    )
    return push.public_key(push.load_key(app.config["VAPID_PRIVATE_KEY"]))


@contextlib.contextmanager
def listed_push_service(app, vapid_public_key=None, **options):
    """Run a fake push service (fakepush.py) whose http://127.0.0.1:PORT origin is listed in
    MESO_PUSH_SERVICES, as a deployment would list a real one."""
    from fakepush import FakePushService

    with FakePushService(vapid_public_key, **options) as service:
        app.config["MESO_PUSH_SERVICES"] += "," + service.origin
        yield service


@pytest.fixture
def fake_push(app, vapid):
    """A listed fake push service on 127.0.0.1 that checks and decrypts every message."""
    with listed_push_service(app, vapid) as service:
        yield service
        assert service.errors == [], "the fake push service refused a message"


@pytest.fixture(autouse=True, scope="session")
def compiled_catalogues():
    """Compile a translation catalogue whose .po is newer than its .mo, as `make catalogues`
    does: a test run straight from pytest reads the catalogues as they are now."""
    from pathlib import Path

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in sorted((Path(__file__).resolve().parent.parent / "translations").glob(
            "*/LC_MESSAGES/messages.po")):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as source:
                catalogue = read_po(source, locale=po.parent.parent.name)
            with mo.open("wb") as target:
                write_mo(target, catalogue)
    yield


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashing():
    """Hash test passwords with argon2's cheapest profile: same code, far less CPU per test.

    Production keeps argon2-cffi's RFC 9106 defaults (checked in test_passwords.py).
    """
    from argon2 import PasswordHasher
    from argon2.profiles import CHEAPEST

    from meso import passwords

    saved = passwords._hasher, passwords._DUMMY_HASH
    passwords._hasher = PasswordHasher.from_parameters(CHEAPEST)
    passwords._DUMMY_HASH = passwords._hasher.hash("not-a-real-password")
    yield
    passwords._hasher, passwords._DUMMY_HASH = saved
