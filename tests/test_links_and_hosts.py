"""Links never come from the Host header: MESO_BASE_URL builds them, requests naming another
host are refused, and a server will not start without it (debug runs and tests aside)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import click
import pytest
import sqlalchemy as sa
from conftest import create_clinic, create_staff, csrf_token, sign_in
from helpers import page_html
from staff_helpers import new_client, post

from meso import create_app, links
from meso.config import ConfigError, base_url_settings
from meso.extensions import db
from meso.models import Patient

ROOT = Path(__file__).resolve().parent.parent
PUBLIC = "https://aftercare.clinic.example"
FORGED = "http://evil.example"
SOON = (datetime.now() + timedelta(days=5)).strftime("%Y-%m-%dT10:00")


def make_app(tmp_path, **config):
    return create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI":
                       f"sqlite:///{tmp_path / 'x.db'}", **config},
                      instance_path=str(tmp_path / "inst"))


# -- every link on MESO_BASE_URL --------------------------------------------------------------


@pytest.fixture
def forged_host_client(app):
    """Staff signed in through a Host header other than MESO_BASE_URL's (the host check is
    off here, so what is tested is only how links are built)."""
    app.config.update(MESO_BASE_URL=PUBLIC, TRUSTED_HOSTS=None)
    create_staff(create_clinic(), role="admin")
    client = new_client(app)
    client.environ_base["HTTP_HOST"] = "evil.example"
    assert sign_in(client).status_code == 303
    return client


def test_the_invite_page_links_and_card_use_the_base_url(app, forged_host_client):
    token = csrf_token(forged_host_client, "/staff/patients/new")
    response = forged_host_client.post("/staff/patients/new", data={
        "csrf_token": token, "name": "Maria Rossi", "area": "face",
        "first_session": SOON, "planned_sessions": "4", "interval_weeks": "3",
        "timezone": "Europe/Rome"})
    html = forged_host_client.get(response.headers["Location"]).get_data(as_text=True)
    link = page_html(html).select_one("a#invite-link")["href"]
    assert re.fullmatch(rf"{PUBLIC}/i/[A-Za-z0-9_-]{{43}}", link), link
    assert f"{PUBLIC}/open" in html  # the printed card's address
    assert "evil.example" not in html


def test_a_password_link_uses_the_base_url(app, forged_host_client):
    post(forged_host_client, "/staff/team/invite", {"email": "eva@clinic.example",
                                                    "role": "practitioner"})
    html = forged_host_client.get("/staff/team").get_data(as_text=True)
    link = page_html(html).select_one("a#staff-link")["href"]
    assert re.fullmatch(rf"{PUBLIC}/staff/i/[A-Za-z0-9_-]{{43}}", link), link
    assert "evil.example" not in html


def test_external_url_ignores_the_request_host(app):
    app.config["MESO_BASE_URL"] = PUBLIC
    with app.test_request_context("/", base_url=FORGED):
        assert links.external_url("access.enter_code") == f"{PUBLIC}/open"
    assert links.external_url("patient.open_invite", token="t") == f"{PUBLIC}/i/t"


def test_without_a_base_url_debug_and_tests_use_the_local_server(app):
    app.config["MESO_BASE_URL"] = ""
    with app.test_request_context("/", base_url=FORGED):
        assert links.public_base_url() == links.DEV_BASE_URL == "http://127.0.0.1:5000"


def test_the_cli_prints_links_on_the_base_url(app, runner):
    app.config["MESO_BASE_URL"] = PUBLIC
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert f"{PUBLIC}/staff/sign-in" in result.output
    assert re.search(rf"Patient link:   {PUBLIC}/i/[A-Za-z0-9_-]{{43}}$", result.output.strip())


def test_a_cli_link_without_a_base_url_is_a_one_line_error_before_any_change(app, runner):
    create_clinic()
    app.config.update(MESO_BASE_URL="", TESTING=False)
    for args in (["demo"], ["patients", "enroll", "--clinic", "Clinica Roma", "--name", "Maria",
                            "--area", "face", "--session", SOON,
                            "--tz", "Europe/Rome"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 1
        assert result.output.strip().splitlines() == [f"Error: {links_missing()}"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Patient)) == 0


def links_missing() -> str:
    from meso.config import BASE_URL_MISSING

    return BASE_URL_MISSING


# -- other hosts refused ----------------------------------------------------------------------


def test_a_request_for_another_host_is_a_400(app, client):
    assert client.get("/staff/sign-in").status_code == 200  # http://localhost, the base URL
    assert client.get("/staff/sign-in", base_url=FORGED).status_code == 400
    assert client.get("/staff/sign-in", headers={"Host": "evil.example"}).status_code == 400
    response = client.get("/api/plan", headers={"Host": "evil.example"})
    assert response.status_code == 400 and "error" in response.get_json()


def test_host_names_are_compared_without_regard_to_case(tmp_path):
    app = make_app(tmp_path, TESTING=True, MESO_BASE_URL="https://Aftercare.Clinic.example")
    client = app.test_client()
    for host in ("aftercare.clinic.example", "AFTERCARE.Clinic.Example",
                 "Aftercare.clinic.example:443"):
        assert client.get("/staff/sign-in", headers={"Host": host}).status_code == 200, host
    assert client.get("/staff/sign-in", headers={"Host": "Evil.example"}).status_code == 400
    proxied = make_app(tmp_path, TESTING=True, MESO_BASE_URL="https://aftercare.clinic.example",
                       PROXY_HOPS=1)
    forwarded = {"X-Forwarded-Host": "AfterCare.Clinic.Example", "X-Forwarded-Proto": "https"}
    assert proxied.test_client().get("/staff/sign-in", headers=forwarded).status_code == 200


def test_a_forwarded_host_counts_only_behind_a_configured_proxy(tmp_path):
    forwarded = {"X-Forwarded-Host": "evil.example"}
    alone = make_app(tmp_path, TESTING=True, MESO_BASE_URL="http://localhost")
    assert alone.test_client().get("/staff/sign-in", headers=forwarded).status_code == 200
    proxied = make_app(tmp_path, TESTING=True, MESO_BASE_URL="http://localhost", PROXY_HOPS=1)
    assert proxied.test_client().get("/staff/sign-in", headers=forwarded).status_code == 400
    good = {"X-Forwarded-Host": "localhost"}
    assert proxied.test_client().get("/staff/sign-in", headers=good).status_code == 200


@pytest.mark.parametrize(("value", "base", "hosts"), [
    ("https://aftercare.clinic.example/", PUBLIC, ["aftercare.clinic.example"]),
    ("http://127.0.0.1:5000", "http://127.0.0.1:5000", ["127.0.0.1"]),
    ("", "", None),
])
def test_base_url_settings(value, base, hosts):
    assert base_url_settings(value) == {"MESO_BASE_URL": base, "TRUSTED_HOSTS": hosts}


@pytest.mark.parametrize("value", [
    "aftercare.clinic.example", "ftp://aftercare.clinic.example", "https://",
    "https://aftercare.clinic.example/app", "https://a.example?x=1", "https://a.example#top",
    "https://user@a.example", "https://a.example:port", "https://[::1]:5000",
])
def test_a_base_url_that_is_not_an_origin_stops_the_start(tmp_path, monkeypatch, value):
    monkeypatch.setenv("MESO_BASE_URL", value)
    with pytest.raises(ConfigError, match="MESO_BASE_URL must be an origin"):
        make_app(tmp_path, TESTING=True)


# -- no server without it ---------------------------------------------------------------------


def test_a_server_will_not_start_without_a_base_url(tmp_path, monkeypatch):
    monkeypatch.delenv("MESO_BASE_URL", raising=False)
    with pytest.raises(ConfigError, match="MESO_BASE_URL is not set"):
        make_app(tmp_path)
    with click.Context(click.Command("run"), info_name="run"), pytest.raises(ConfigError):
        make_app(tmp_path)


def test_debug_runs_tests_and_other_commands_start_without_one(tmp_path, monkeypatch):
    monkeypatch.delenv("MESO_BASE_URL", raising=False)
    assert make_app(tmp_path, DEBUG=True).config["TRUSTED_HOSTS"] is None
    assert make_app(tmp_path, TESTING=True).config["TRUSTED_HOSTS"] is None
    with click.Context(click.Group("flask"), info_name="flask"):  # `flask init`, `db upgrade`
        assert make_app(tmp_path).config["MESO_BASE_URL"] == ""


def clean_env(tmp_path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MESO_", "FLASK_")) and k != "DATABASE_URL"}
    return {**env, "SECRET_KEY": "x", "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}


@pytest.mark.parametrize("command", [
    [sys.executable, "-m", "flask", "--app", "app", "run", "--port", "0"],
    # No control socket: its "listening" line could otherwise share a stderr line with ours.
    [sys.executable, "-m", "gunicorn", "-w", "1", "-b", "127.0.0.1:0", "--no-control-socket",
     "app:app"],
])
def test_serving_without_a_base_url_stops_with_one_line(tmp_path, command):
    result = subprocess.run(command, cwd=ROOT, env=clean_env(tmp_path), capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 4, result.stderr
    ours = [line for line in result.stderr.splitlines() if "MESO_BASE_URL" in line]
    # One line, whole; gunicorn's master writes to the same pipe, so only its end is ours.
    assert len(ours) == 1 and ours[0].endswith(f"meso: {links_missing()}"), ours
    assert "Traceback" not in result.stderr


def test_a_command_that_prints_no_link_runs_without_one(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "plan", "--area", "face", "--session",
         "2026-11-20T10:00", "--tz", "Europe/Rome", "--json"],
        cwd=ROOT, env=clean_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert '"phase"' in result.stdout
