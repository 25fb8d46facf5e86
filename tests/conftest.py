"""Fixtures: app, client, runner, factories, and a live server for the browser tests.

The database is SQLite in a temporary folder unless MESO_TEST_DATABASE_URL names another
(`make test` runs the suite a second time on the local PostgreSQL).
"""

from __future__ import annotations

import os
import re
import threading
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from meso import courses, create_app
from meso.extensions import db
from meso.models import Clinic, StaffUser
from meso.passwords import hash_password

TEST_DATABASE_URL = os.environ.get("MESO_TEST_DATABASE_URL")
PASSWORD = "correct horse battery"


@pytest.fixture
def app(tmp_path):
    url = TEST_DATABASE_URL or f"sqlite:///{tmp_path / 'test.sqlite3'}"
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key",
            "SQLALCHEMY_DATABASE_URI": url,
            "MESO_BASE_URL": "http://localhost",
        },
        instance_path=str(tmp_path / "instance"),
    )
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
    """Return the CSRF token a page hands out in its <meta name="csrf-token">."""
    html = client.get(url).get_data(as_text=True)
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert match, f"no csrf-token meta on {url}"
    return match.group(1)


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
    app.config["MESO_BASE_URL"] = base
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


PHONE = {"viewport": {"width": 360, "height": 780}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True, "locale": "en-GB"}
