"""Staff sessions that end: at sign-out (for every copy of the cookie), after 30 idle minutes,
12 hours after sign-in, and when the cookie turns up from another network. And no admin makes
a password link for another admin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup
from conftest import create_clinic, create_staff, csrf_token, sign_in
from helpers import frozen
from staff_helpers import new_client, post

from meso import create_app
from meso.config import ConfigError
from meso.extensions import db
from meso.models import StaffInvite, StaffSession, StaffUser

START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
OFFICE = "198.51.100.7"


@pytest.fixture
def staff(app):
    return create_staff(create_clinic())


def signed_in(app, address: str = OFFICE):
    client = new_client(app)
    client.environ_base["REMOTE_ADDR"] = address
    assert sign_in(client).status_code == 303
    return client


def is_signed_in(client, **kwargs) -> bool:
    response = client.get("/staff/", **kwargs)
    assert response.status_code in (200, 302)
    return response.status_code == 200


def session_cookie(client) -> str:
    return client.get_cookie("session").value


def copy_of(app, client, address: str = OFFICE):
    """Another browser holding a copy of the client's session cookie."""
    thief = new_client(app)
    thief.environ_base["REMOTE_ADDR"] = address
    thief.set_cookie("session", session_cookie(client))
    return thief


def sign_out(client):
    token = csrf_token(client, "/staff/")
    return client.post("/staff/sign-out", data={"csrf_token": token})


# -- sign-out ---------------------------------------------------------------------------------


def test_sign_out_ends_every_copy_of_the_cookie(app, staff):
    client = signed_in(app)
    copy = copy_of(app, client)
    assert is_signed_in(copy)  # the copy works while the session lasts...
    assert sign_out(client).status_code == 303
    assert not is_signed_in(copy)  # ...and not after the sign-out
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StaffSession)) == 0


def test_the_cookie_holds_a_token_the_database_only_hashes(app, staff):
    client = signed_in(app)
    with client.session_transaction() as cookie:
        token = cookie["staff_sid"]
    row = db.session.scalar(sa.select(StaffSession))
    assert token not in (row.token_hash, row.address_key) and len(row.token_hash) == 64


def test_two_browsers_have_two_sessions(app, staff):
    first, second = signed_in(app), signed_in(app)
    sign_out(first)
    assert is_signed_in(second)
    assert not is_signed_in(first)


# -- idle and absolute lifetimes --------------------------------------------------------------


def test_a_session_ends_after_30_idle_minutes(app, staff):
    with frozen(START) as clock:
        client = signed_in(app)
        clock.move_to(START + timedelta(minutes=29))
        assert is_signed_in(client)
        clock.move_to(START + timedelta(minutes=29 + 30))
        response = client.get("/staff/", follow_redirects=True)
    assert response.request.path == "/staff/sign-in"
    assert "signed out after 30 minutes without activity" in response.get_data(as_text=True)


def test_activity_keeps_a_session_alive_until_12_hours(app, staff):
    with frozen(START) as clock:
        client = signed_in(app)
        for minutes in range(20, 12 * 60, 20):  # a page every 20 minutes, all day
            clock.move_to(START + timedelta(minutes=minutes))
            assert is_signed_in(client), minutes
        clock.move_to(START + timedelta(hours=12))
        response = client.get("/staff/", follow_redirects=True)
    assert response.request.path == "/staff/sign-in"
    assert "signed out 12 hours after signing in" in response.get_data(as_text=True)


def test_lifetimes_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MESO_STAFF_IDLE_MINUTES", "5")
    monkeypatch.setenv("MESO_STAFF_SESSION_HOURS", "1")
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "MESO_BASE_URL": "http://localhost",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"},
                     instance_path=str(tmp_path / "inst"))
    with app.app_context():
        db.create_all()
        create_staff(create_clinic())
        with frozen(START) as clock:
            client = signed_in(app)
            clock.move_to(START + timedelta(minutes=4))
            assert is_signed_in(client)
            clock.move_to(START + timedelta(minutes=4 + 5))
            assert not is_signed_in(client)
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize("name", ["MESO_STAFF_IDLE_MINUTES", "MESO_STAFF_SESSION_HOURS"])
def test_a_lifetime_must_be_a_positive_number(tmp_path, monkeypatch, name):
    monkeypatch.setenv(name, "0")
    with pytest.raises(ConfigError, match=name):
        create_app({"TESTING": True, "SECRET_KEY": "x"}, instance_path=str(tmp_path))


def test_ended_sessions_are_deleted_at_the_next_sign_in(app, staff):
    with frozen(START) as clock:
        signed_in(app)
        clock.move_to(START + timedelta(hours=1))
        signed_in(app)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StaffSession)) == 1


# -- the session's network --------------------------------------------------------------------


def test_a_cookie_used_from_another_address_does_not_sign_in(app, staff):
    client = signed_in(app)
    assert not is_signed_in(copy_of(app, client, address="203.0.113.66"))
    assert is_signed_in(client)  # the staff member's own session goes on


def test_a_forged_x_forwarded_for_does_not_help_a_copied_cookie(app, staff):
    """Flask-Login's own protection reads X-Forwarded-For as sent: anyone could claim the
    victim's address. Without MESO_PROXY_HOPS the header counts for nothing."""
    client = signed_in(app)
    copy = copy_of(app, client, address="203.0.113.66")
    assert not is_signed_in(copy, headers={"X-Forwarded-For": OFFICE})


def test_an_ipv6_client_keeps_its_session_across_its_privacy_addresses(app, staff):
    client = signed_in(app, address="2001:db8:1:2::10")
    client.environ_base["REMOTE_ADDR"] = "2001:db8:1:2:a5c3:77ff:fe01:9"  # the same /64
    assert is_signed_in(client)
    assert not is_signed_in(copy_of(app, client, address="2001:db8:1:3::10"))


def test_behind_a_proxy_the_address_it_forwards_counts(tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "MESO_BASE_URL": "http://localhost",
                      "PROXY_HOPS": 1,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"},
                     instance_path=str(tmp_path / "inst"))
    with app.app_context():
        db.create_all()
        create_staff(create_clinic())
        proxy = {"REMOTE_ADDR": "10.0.0.2"}
        client = new_client(app)
        client.environ_base.update(proxy)
        token = csrf_token(client, "/staff/sign-in")
        response = client.post("/staff/sign-in", headers={"X-Forwarded-For": OFFICE}, data={
            "email": "anna@clinic.example", "password": "correct horse battery",
            "csrf_token": token})
        assert response.status_code == 303
        assert is_signed_in(client, headers={"X-Forwarded-For": OFFICE})
        assert not is_signed_in(client, headers={"X-Forwarded-For": "203.0.113.66"})
        db.session.remove()
        db.engine.dispose()


# -- password links for admins ----------------------------------------------------------------


@pytest.fixture
def admins(app):
    clinic = create_clinic()
    boss = create_staff(clinic, email="boss@clinic.example", role="admin")
    other = create_staff(clinic, email="other@clinic.example", role="admin")
    practitioner = create_staff(clinic, email="anna@clinic.example")
    client = new_client(app)
    assert sign_in(client, email="boss@clinic.example").status_code == 303
    return client, boss, other, practitioner


def links_for(user: StaffUser) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(StaffInvite).where(
        StaffInvite.staff_user_id == user.id))


def test_an_admin_cannot_make_a_password_link_for_another_admin(app, admins):
    client, _boss, other, _practitioner = admins
    response = post(client, f"/staff/team/{other.id}/reset")
    assert response.status_code == 403
    assert "cannot make a password link for another admin" in response.get_data(as_text=True)
    assert links_for(other) == 0


def test_an_admin_makes_password_links_for_practitioners_and_themselves(app, admins):
    client, boss, _other, practitioner = admins
    assert post(client, f"/staff/team/{practitioner.id}/reset").status_code == 303
    assert post(client, f"/staff/team/{boss.id}/reset").status_code == 303
    assert links_for(practitioner) == 1 and links_for(boss) == 1


def test_the_team_page_offers_password_links_only_where_the_server_makes_them(app, admins):
    client, _boss, other, practitioner = admins
    page = BeautifulSoup(client.get("/staff/team").get_data(as_text=True), "html.parser")
    targets = {form["action"] for form in page.find_all("form")
               if form.find("button", string=lambda text: text and "Password link" in text)}
    assert targets == {f"/staff/team/{practitioner.id}/reset"}
    assert f"/staff/team/{other.id}/reset" not in targets
