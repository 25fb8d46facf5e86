"""Admin pages: roles (403 for practitioners), inviting and deactivating colleagues,
password links, clinic protocol settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from conftest import PASSWORD, create_clinic, enrol_patient, sign_in
from helpers import assert_no_inline_code, field_error, frozen, page_html
from staff_helpers import actions, new_client, post, signed_in_client

from meso import access, clinic_replans, courses, policy
from meso.extensions import db
from meso.models import AuditEvent, ClinicSettings, StaffInvite, StaffUser, hash_token
from meso.timeutil import iso

NEW_PASSWORD = "a brand new password"


@pytest.fixture
def clinic(app):
    return create_clinic()


@pytest.fixture
def admin(app, clinic):
    return signed_in_client(app, clinic, "boss@clinic.example", role="admin")


@pytest.fixture
def practitioner(app, clinic):
    return signed_in_client(app, clinic, "anna@clinic.example")


def is_signed_in(client) -> bool:
    return client.get("/staff/").status_code == 200


ADMIN_GETS = ["/staff/team", "/staff/settings", "/staff/audit", "/staff/patients/{pid}/audit"]
ADMIN_POSTS = ["/staff/team/invite", "/staff/team/{sid}/reset", "/staff/team/{sid}/active",
               "/staff/team/{sid}/role", "/staff/settings", "/staff/team/invites/{iid}/cancel"]


def test_admin_pages_are_403_for_practitioners(app, clinic, admin, practitioner):
    patient, _ = enrol_patient(clinic)
    colleague = db.session.scalar(sa.select(StaffUser).where(
        StaffUser.email == "anna@clinic.example"))
    post(admin, "/staff/team/invite", {"email": "new@clinic.example", "role": "practitioner"})
    invite = db.session.scalar(sa.select(StaffInvite))
    ids = {"pid": patient.id, "sid": colleague.id, "iid": invite.id}
    for url in ADMIN_GETS:
        assert practitioner.get(url.format(**ids)).status_code == 403, url
        assert admin.get(url.format(**ids)).status_code == 200, url
    for url in ADMIN_POSTS:
        response = post(practitioner, url.format(**ids), {"active": "0", "role": "admin"})
        assert response.status_code == 403, url
    db.session.expire_all()
    assert colleague.active and colleague.role == "practitioner"
    assert db.session.get(StaffInvite, invite.id) is not None
    # Practitioners do not see the admin links at all.
    html = practitioner.get("/staff/").get_data(as_text=True)
    assert "/staff/team" not in html and "/staff/settings" not in html


def test_admin_pages_have_no_inline_code(admin, clinic):
    patient, _ = enrol_patient(clinic)
    for url in ("/staff/team", "/staff/settings", "/staff/audit",
                f"/staff/patients/{patient.id}/audit"):
        assert_no_inline_code(admin.get(url).get_data(as_text=True))


# -- inviting a colleague --------------------------------------------------------------------


def invite(admin, email="new@clinic.example", role="practitioner") -> str:
    response = post(admin, "/staff/team/invite", {"email": email, "role": role})
    assert response.status_code == 303
    return staff_link_path(admin.get("/staff/team"))


def staff_link_path(response) -> str:
    """The path of the one-time staff link the team page shows (without the host)."""
    link = page_html(response).select_one("a#staff-link")["href"]
    assert link.startswith("http://localhost/staff/i/"), link
    return link.removeprefix("http://localhost")


def join(app, path: str, password=NEW_PASSWORD, confirm=None):
    newcomer = new_client(app)
    landing = newcomer.get(path)
    assert landing.status_code == 303
    assert landing.headers["Location"] == "/staff/welcome"  # the token leaves the address bar
    token = page_html(newcomer.get("/staff/welcome")).select_one('input[name="csrf_token"]')
    response = newcomer.post("/staff/welcome", data={
        "password": password, "confirm": confirm or password, "csrf_token": token["value"]})
    return newcomer, response


def test_invite_a_colleague_who_sets_a_password(app, admin, clinic):
    path = invite(admin, email="New@Clinic.example")
    token = path.rsplit("/", 1)[1]
    stored = db.session.scalar(sa.select(StaffInvite))
    assert stored.token_hash == hash_token(token) and stored.email == "new@clinic.example"
    assert stored.expires_at - stored.created_at == timedelta(days=7)
    # Shown once: a second visit to the team page no longer has the token? It does for the
    # admin who made it, in their session only; another admin never sees it.
    other_admin = signed_in_client(app, clinic, "boss2@clinic.example", role="admin")
    assert token not in other_admin.get("/staff/team").get_data(as_text=True)

    newcomer, response = join(app, path)
    assert response.status_code == 303 and response.headers["Location"] == "/staff/"
    assert is_signed_in(newcomer)
    user = db.session.scalar(sa.select(StaffUser).where(StaffUser.email == "new@clinic.example"))
    assert user.role == "practitioner" and user.clinic_id == clinic.id
    assert sign_in(new_client(app), "new@clinic.example", NEW_PASSWORD).status_code == 303
    # One time only.
    assert new_client(app).get(path).status_code == 404
    assert "staff.invited" in actions() and "staff.joined" in actions()


@pytest.mark.parametrize(
    ("password", "confirm", "field", "message"),
    [("tiny7", "tiny7", "password", "Field must be between 10 and 1000 characters long."),
     (NEW_PASSWORD, "something else entirely", "confirm", "The passwords differ.")],
)
def test_set_password_bad_input(app, admin, password, confirm, field, message):
    _client, response = join(app, invite(admin), password, confirm)
    assert response.status_code == 400
    assert message in field_error(response.get_data(as_text=True), field)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StaffUser)) == 1


def test_expired_invite_does_not_work(app, admin):
    path = invite(admin)
    with frozen(datetime.now(UTC) + timedelta(days=8)):
        response = new_client(app).get(path)
    assert response.status_code == 404
    assert "This link no longer works" in response.get_data(as_text=True)


def test_invite_an_existing_email_is_refused(admin, practitioner):
    response = post(admin, "/staff/team/invite", {"email": "anna@clinic.example",
                                                  "role": "admin"})
    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), "email") == (
        "This email already has an account.")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StaffInvite)) == 0


def test_cancelling_an_invite_ends_its_link_and_is_audited(app, admin):
    path = invite(admin)
    invite_id = db.session.scalar(sa.select(StaffInvite.id))
    response = post(admin, f"/staff/team/invites/{invite_id}/cancel", {})
    assert response.status_code == 303 and response.headers["Location"] == "/staff/team"
    assert db.session.get(StaffInvite, invite_id) is None
    assert actions()[-1] == "staff.invite_cancelled"
    assert new_client(app).get(path).status_code == 404
    # Already gone: nothing to cancel.
    assert post(admin, f"/staff/team/invites/{invite_id}/cancel", {}).status_code == 404


# -- deactivating, roles, password links -----------------------------------------------------


def colleague() -> StaffUser:
    db.session.expire_all()
    return db.session.scalar(sa.select(StaffUser).where(StaffUser.email == "anna@clinic.example"))


def test_deactivation_ends_the_colleague_s_sessions_at_once(app, admin, practitioner):
    assert is_signed_in(practitioner)
    response = post(admin, f"/staff/team/{colleague().id}/active", {"active": "0"})
    assert response.status_code == 303
    assert not colleague().active
    assert not is_signed_in(practitioner)
    assert sign_in(new_client(app)).status_code == 400
    # Reactivated: they sign in again (the old session stays dead).
    post(admin, f"/staff/team/{colleague().id}/active", {"active": "1"})
    assert not is_signed_in(practitioner)
    assert sign_in(new_client(app)).status_code == 303
    assert actions()[-2:] == ["staff.activated", "staff.sign_in"]


def test_an_admin_cannot_deactivate_themselves_or_the_last_admin(app, admin, clinic):
    me = db.session.scalar(sa.select(StaffUser).where(StaffUser.email == "boss@clinic.example"))
    post(admin, f"/staff/team/{me.id}/active", {"active": "0"})
    assert "You cannot deactivate your own account." in admin.get("/staff/team").get_data(
        as_text=True)
    second = signed_in_client(app, clinic, "boss2@clinic.example", role="admin")
    post(second, f"/staff/team/{me.id}/role", {f"role{me.id}-role": "practitioner"})
    db.session.expire_all()
    assert me.role == "practitioner"
    target = db.session.scalar(sa.select(StaffUser).where(
        StaffUser.email == "boss2@clinic.example"))
    response = post(second, f"/staff/team/{target.id}/role",
                    {f"role{target.id}-role": "practitioner"})
    assert response.status_code == 303
    db.session.expire_all()
    assert target.role == "admin"  # the clinic's last admin stays one
    assert "A clinic needs at least one active admin." in second.get("/staff/team").get_data(
        as_text=True)


def test_password_link_resets_and_ends_old_sessions(app, admin, practitioner):
    post(admin, f"/staff/team/{colleague().id}/reset")
    _client, response = join(app, staff_link_path(admin.get("/staff/team")))
    assert response.status_code == 303
    assert not is_signed_in(practitioner)
    assert sign_in(new_client(app), "anna@clinic.example", PASSWORD).status_code == 400
    assert sign_in(new_client(app), "anna@clinic.example", NEW_PASSWORD).status_code == 303


# -- clinic settings -------------------------------------------------------------------------


GOOD_SETTINGS = {
    "phone": "+39 06 9999", "heat": "72", "sun": "48", "makeup": "48", "exfoliants": "168",
    "vitamin_a": "336", "acids_peels": "336", "tanning_beds": "168", "hair_wash": "24",
    "first_weeks_days": "21",
    "reminder_time": "08:30", "quiet_start": "22:00", "quiet_end": "07:30",
    "photos_enabled": "y",  # the box comes ticked (photos are on by default)
}


def test_settings_change_every_patient_s_plan(app, admin, clinic, monkeypatch):
    patient, _ = enrol_patient(clinic, first_session=datetime.now(UTC) - timedelta(hours=3))
    token = access.add_device(patient, datetime.now(UTC))
    db.session.commit()
    calls = []
    # after_course_change, for one patient, goes through after_courses_change too.
    monkeypatch.setattr(courses, "after_courses_change",
                        lambda patients: calls.extend(p.id for p in patients))
    response = post(admin, "/staff/settings", GOOD_SETTINGS)
    assert response.status_code == 303
    settings = db.session.get(ClinicSettings, clinic.id)
    assert settings.window_hours == {"heat": 72}  # defaults are not stored
    assert (settings.first_weeks_days, settings.reminder_time.strftime("%H:%M")) == (21, "08:30")
    assert calls == [], "the request queues the re-plan; the reminder worker does it"
    assert clinic_replans.run_batch(datetime.now(UTC), timedelta(minutes=5)) == 1
    assert calls == [patient.id]
    heat = {a.key: a.until for a in policy.plan_for(patient).avoid}["heat"]
    assert heat == patient.course.sessions[0].starts_at + timedelta(hours=72)
    assert policy.clinic_protocol(clinic).first_weeks == timedelta(days=21)
    # The patient's Today shows it.
    phone = new_client(app)
    phone.set_cookie("meso_device", token)
    today = phone.get("/today").get_data(as_text=True)
    local = heat.astimezone(ZoneInfo("Europe/Rome"))
    row = page_html(today).select_one(f'li.until-row[data-until="{iso(local)}"]')
    assert row is not None and row.select_one('.item[data-key="heat"]') is not None
    db.session.expire_all()
    assert clinic.phone == "+39 06 9999"
    assert actions()[-1] == "settings.changed"


def test_the_clinic_sets_when_scalp_patients_may_wash_their_hair(app, admin, clinic):
    """The hair-wash wait is clinic practice: a window the clinic's settings change."""
    start = datetime.now(UTC) - timedelta(hours=3)
    patient, _ = enrol_patient(clinic, area="scalp", first_session=start)
    until = {a.key: a.until for a in policy.plan_for(patient).avoid}
    assert until["hair_wash"] == patient.course.sessions[0].starts_at + timedelta(hours=24)
    response = post(admin, "/staff/settings", {**GOOD_SETTINGS, "hair_wash": "48"})
    assert response.status_code == 303
    assert db.session.get(ClinicSettings, clinic.id).window_hours == {"heat": 72, "hair_wash": 48}
    until = {a.key: a.until for a in policy.plan_for(patient).avoid}
    assert until["hair_wash"] == patient.course.sessions[0].starts_at + timedelta(hours=48)


def test_a_new_clinic_phone_alone_is_saved_and_audited(admin, clinic):
    unchanged = {key: str(hours) for key, hours in policy.default_window_hours().items()}
    defaults = {**unchanged, "first_weeks_days": "28", "reminder_time": "09:00",
                "quiet_start": "21:00", "quiet_end": "08:00", "phone": "+39 06 5555",
                "photos_enabled": "y"}
    assert post(admin, "/staff/settings", defaults).status_code == 303
    db.session.expire_all()
    assert clinic.phone == "+39 06 5555"
    [event] = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "settings.changed")).all()
    assert event.detail == {"changes": {"phone": ["+39 06 1234 5678", "+39 06 5555"]}}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [({"heat": "-1"}, "heat", "Between 0 and 2160 hours"),
     ({"exfoliants": "2161"}, "exfoliants", "Between 0 and 2160 hours"),
     ({"sun": ""}, "sun", "This field is required."),
     ({"first_weeks_days": "3"}, "first_weeks_days", "Number must be between 7 and 90."),
     ({"quiet_end": "22:00"}, "quiet_end", "Quiet hours must end at another time."),
     ({"reminder_time": "23:00"}, "reminder_time", "This time is inside the quiet hours."),
     ({"reminder_time": "25:00"}, "reminder_time", "Not a valid time value.")],
)
def test_settings_out_of_bounds(admin, clinic, change, field, message):
    response = post(admin, "/staff/settings", {**GOOD_SETTINGS, **change})
    assert response.status_code == 400
    assert message in field_error(response.get_data(as_text=True), field)
    assert db.session.get(ClinicSettings, clinic.id) is None
