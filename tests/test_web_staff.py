"""Staff pages through the Flask test client: sign-in, enrolment, invite links."""

from __future__ import annotations

import hashlib
import re
import string
from datetime import UTC, datetime
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from conftest import (
    PASSWORD,
    create_clinic,
    create_staff,
    csrf_token,
    enrol_patient,
    open_invite,
    sign_in,
)
from helpers import assert_no_inline_code, csrf_meta, field_error, frozen, page_html, text_of

from meso.extensions import db
from meso.models import Course, Patient, TreatmentSession

# The `client` fixture makes every app.test_client() an IsolatedClient (conftest): each
# request gets its own app context, `g` and database session, as on a real server. The clock
# is frozen, as the enrol form accepts first sessions only around "today".
pytestmark = pytest.mark.usefixtures("client", "frozen_clock")
TODAY = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)


@pytest.fixture
def frozen_clock():
    with frozen(TODAY):
        yield

WRONG = "Wrong email or password."
GOOD_ENROL = {
    "name": "Maria Rossi",
    "area": "face",
    "first_session": "2026-11-20T10:00",
    "planned_sessions": "4",
    "interval_weeks": "3",
    "timezone": "Europe/Rome",
}


def invite_token(html: str) -> str:
    """The token of the invite link the page shows (its text is its address)."""
    link = page_html(html).select_one("a#invite-link")
    assert link is not None, "no invite link on the page"
    assert link.get_text() == link["href"]
    url = link["href"]
    token = url.removeprefix("http://localhost/i/")
    assert url.startswith("http://localhost/i/") and len(token) >= 43, url
    assert set(token) <= set(string.ascii_letters + string.digits + "-_"), url
    return token


@pytest.fixture
def staff(app):
    return create_staff(create_clinic())


@pytest.fixture
def signed_in(client, staff):
    assert sign_in(client).status_code == 303
    return client


def field_block(html: str, field_id: str):
    """Return the `<div class="field …">` element that holds the field with this id."""
    label = page_html(html).select_one(f'div.field > label[for="{field_id}"]')
    assert label is not None, f"no field block for {field_id}"
    return label.parent


def error_fields(html: str) -> list[str]:
    """The ids of the fields that show an error next to them, in page order."""
    return [p["id"].removesuffix("-error") for p in page_html(html).select('p.error[id$="-error"]')]


def is_signed_in(client) -> bool:
    response = client.get("/staff/")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def patient_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Patient))


# -- sign-in ---------------------------------------------------------------------------------


def test_sign_in_page(client):
    response = client.get("/staff/sign-in")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<h1>Staff sign-in</h1>" in html
    assert csrf_meta(html)
    assert 'name="csrf_token"' in html
    assert 'autocomplete="current-password"' in html


def test_sign_in_with_good_credentials(client, staff):
    response = sign_in(client)
    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/"
    roster = client.get("/staff/")
    assert roster.status_code == 200
    assert "Clinica Roma" in roster.get_data(as_text=True)
    with client.session_transaction() as session:
        assert session["_user_id"] == str(staff.id)


def test_sign_in_email_is_case_insensitive(client, staff):
    response = sign_in(client, email="ANNA@Clinic.Example")
    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/"


@pytest.mark.parametrize(
    ("email", "password"),
    [("anna@clinic.example", "wrong password"), ("nobody@clinic.example", PASSWORD)],
    ids=["wrong-password", "unknown-email"],
)
def test_sign_in_refused(client, staff, email, password):
    response = sign_in(client, email, password)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    block = field_block(html, "password")
    assert "has-error" in block["class"]
    assert block.select_one("p.error#password-error").get_text() == WRONG
    # The same words whichever was wrong: no hint that the email exists.
    assert html.count(WRONG) == 1
    assert error_fields(html) == ["password"]
    with client.session_transaction() as session:
        assert "_user_id" not in session
    assert not is_signed_in(client)


def test_inactive_staff_cannot_sign_in(client, staff):
    staff.active = False
    db.session.commit()
    response = sign_in(client)
    assert response.status_code == 400
    assert field_error(response, "password") == WRONG
    assert not is_signed_in(client)


def test_sign_in_empty_fields(client, staff):
    token = csrf_token(client, "/staff/sign-in")
    response = client.post("/staff/sign-in", data={"email": "", "password": "",
                                                   "csrf_token": token})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert error_fields(html) == ["email", "password"]
    assert field_error(html, "email") == "This field is required."
    assert not is_signed_in(client)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/staff/patients/new", "/staff/patients/new"),
        ("/staff/patients/new?x=1", "/staff/patients/new?x=1"),
        ("//evil.example", "/staff/"),
        ("https://evil.example/x", "/staff/"),
        ("http://localhost/staff/patients/new", "/staff/"),
        ("javascript:alert(1)", "/staff/"),
        ("/\t/evil.example", "/staff/"),
        ("", "/staff/"),
    ],
)
def test_sign_in_next_only_local_paths(client, staff, target, expected):
    token = csrf_token(client, "/staff/sign-in")
    response = client.post(f"/staff/sign-in?next={quote(target, safe='')}",
                           data={"email": "anna@clinic.example", "password": PASSWORD,
                                 "csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"] == expected


def test_sign_in_next_backslash_is_not_an_open_redirect(client, staff):
    token = csrf_token(client, "/staff/sign-in")
    response = client.post("/staff/sign-in?next=" + quote("/\\evil.example", safe=""),
                           data={"email": "anna@clinic.example", "password": PASSWORD,
                                 "csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/"


def test_sign_in_without_csrf_token_is_refused(client, staff):
    client.get("/staff/sign-in")
    response = client.post("/staff/sign-in", data={"email": "anna@clinic.example",
                                                   "password": PASSWORD})
    assert response.status_code == 400
    assert "Page expired" in response.get_data(as_text=True)
    with client.session_transaction() as session:
        assert "_user_id" not in session
    assert not is_signed_in(client)


def test_sign_in_with_a_forged_csrf_token_is_refused(client, staff):
    client.get("/staff/sign-in")
    response = client.post("/staff/sign-in", data={"email": "anna@clinic.example",
                                                   "password": PASSWORD,
                                                   "csrf_token": "forged.token.value"})
    assert response.status_code == 400
    assert not is_signed_in(client)


def test_signed_in_staff_skip_the_sign_in_page(signed_in):
    response = signed_in.get("/staff/sign-in")
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/"


def test_sign_out_is_post_only_and_ends_the_session(signed_in):
    assert signed_in.get("/staff/sign-out").status_code == 405
    assert is_signed_in(signed_in)
    token = csrf_token(signed_in, "/staff/")
    response = signed_in.post("/staff/sign-out", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/sign-in"
    with signed_in.session_transaction() as session:
        assert "_user_id" not in session
    assert not is_signed_in(signed_in)


def test_sign_out_without_csrf_token_keeps_the_session(signed_in):
    response = signed_in.post("/staff/sign-out")
    assert response.status_code == 400
    assert is_signed_in(signed_in)


def test_a_second_client_is_not_signed_in(app, signed_in):
    assert is_signed_in(signed_in)
    assert not is_signed_in(app.test_client())


@pytest.mark.parametrize(
    ("path", "next_param"),
    [("/staff/", "%2Fstaff%2F"), ("/staff/patients/new", "%2Fstaff%2Fpatients%2Fnew")],
)
def test_staff_pages_require_sign_in(client, path, next_param):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/staff/sign-in?next={next_param}"


def test_enrol_post_requires_sign_in(client, staff):
    token = csrf_token(client, "/staff/sign-in")
    response = client.post("/staff/patients/new", data={**GOOD_ENROL, "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/sign-in?next=")
    assert patient_count() == 0


def test_invite_pages_require_sign_in(client, staff):
    patient, _ = enrol_patient(staff.clinic)
    assert client.get(f"/staff/patients/{patient.id}/invite").status_code == 302
    token = csrf_token(client, "/staff/sign-in")
    before = patient.invite_hash
    response = client.post(f"/staff/patients/{patient.id}/invite", data={"csrf_token": token})
    assert response.status_code == 302
    db.session.refresh(patient)
    assert patient.invite_hash == before


# -- roster ----------------------------------------------------------------------------------


def test_roster_lists_only_the_clinic_s_patients(signed_in, staff):
    enrol_patient(staff.clinic, name="Maria Rossi")
    other = create_clinic(name="Clinica Napoli", phone="+39 081 000")
    enrol_patient(other, name="Luca Bianchi", area="scalp")
    html = signed_in.get("/staff/").get_data(as_text=True)
    assert ">Maria Rossi<" in html
    assert "Luca Bianchi" not in html


def test_roster_empty(signed_in):
    html = signed_in.get("/staff/").get_data(as_text=True)
    assert "No patients yet." in html


# -- enrolment -------------------------------------------------------------------------------


def post_enrol(client, **overrides):
    token = csrf_token(client, "/staff/patients/new")
    data = {**GOOD_ENROL, **overrides, "csrf_token": token}
    return client.post("/staff/patients/new",
                       data={k: v for k, v in data.items() if v is not None})


def test_enrol_page(signed_in):
    response = signed_in.get("/staff/patients/new")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<h1>Enrol a patient</h1>" in html
    assert error_fields(html) == []
    assert [o["value"] for o in field_block(html, "area").select("option")] == [
        "face", "scalp", "body"]
    assert field_block(html, "planned_sessions").select_one("input")["value"] == "4"
    assert field_block(html, "interval_weeks").select_one("input")["value"] == "3"


def test_enrol_time_zone_defaults_to_the_clinic_s(client):
    clinic = create_clinic(name="NY Clinic", timezone="America/New_York")
    create_staff(clinic, email="nina@clinic.example")
    assert sign_in(client, email="nina@clinic.example").status_code == 303
    html = client.get("/staff/patients/new").get_data(as_text=True)
    block = field_block(html, "timezone")
    assert [o["value"] for o in block.select("option[selected]")] == ["America/New_York"]
    assert block.select_one('option[value="Europe/Rome"]')


@pytest.mark.parametrize(
    ("zone", "local", "utc"),
    [
        ("Europe/Rome", "2026-11-20T10:00", datetime(2026, 11, 20, 9, 0, tzinfo=UTC)),
        ("Europe/Rome", "2026-07-20T10:00", datetime(2026, 7, 20, 8, 0, tzinfo=UTC)),
        ("America/New_York", "2026-11-20T10:00", datetime(2026, 11, 20, 15, 0, tzinfo=UTC)),
        ("Asia/Kolkata", "2026-11-20T10:00:00", datetime(2026, 11, 20, 4, 30, tzinfo=UTC)),
    ],
)
def test_enrol_creates_patient_course_and_session(signed_in, staff, zone, local, utc):
    response = post_enrol(signed_in, timezone=zone, first_session=local, area="scalp",
                          planned_sessions="6", interval_weeks="2",
                          name="  Maria Rossi  ")
    assert response.status_code == 303
    patient = db.session.scalar(sa.select(Patient))
    assert response.headers["Location"] == f"/staff/patients/{patient.id}/invite"
    assert patient.name == "Maria Rossi"
    assert patient.clinic_id == staff.clinic_id
    assert patient.archived_at is None
    course = db.session.scalar(sa.select(Course))
    assert course.patient_id == patient.id
    assert (course.area, course.planned_sessions, course.interval_weeks, course.timezone) == (
        "scalp", 6, 2, zone)
    sessions = db.session.scalars(sa.select(TreatmentSession)).all()
    assert len(sessions) == 1
    assert sessions[0].course_id == course.id
    assert sessions[0].number == 1
    assert sessions[0].starts_at == utc


def test_enrol_shows_the_invite_link_once(app, signed_in):
    response = post_enrol(signed_in)
    page = signed_in.get(response.headers["Location"])
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    token = invite_token(html)
    patient = db.session.scalar(sa.select(Patient))
    assert patient.invite_hash == hashlib.sha256(token.encode()).hexdigest()
    assert "<h1>Maria Rossi</h1>" in html
    assert re.search(r"Face · Day -?\d+ · Session [01] of 4", text_of(html))
    # The link works for the patient.
    phone = app.test_client()
    landing = open_invite(phone, token)
    assert landing.status_code == 303
    assert landing.headers["Location"] == "/today"


def test_invite_page_without_the_link_in_the_session(app, signed_in, staff):
    """Another staff member of the clinic sees no link (only its hash is stored)."""
    patient, _ = enrol_patient(staff.clinic)
    response = signed_in.get(f"/staff/patients/{patient.id}/invite")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert page_html(html).select_one("#invite-link") is None
    assert "/i/" not in html
    assert "a link is shown only to the person who created it" in html


def test_enrol_escapes_the_name(signed_in):
    response = post_enrol(signed_in, name="<script>alert(1)</script>")
    html = signed_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


BAD_ENROL = [
    ("empty-name", "name", {"name": ""}, "This field is required."),
    ("blank-name", "name", {"name": "   "}, "This field is required."),
    ("long-name", "name", {"name": "x" * 121}, "Field cannot be longer than 120 characters."),
    ("unknown-area", "area", {"area": "neck"}, "Not a valid choice."),
    ("missing-area", "area", {"area": None}, "This field is required."),
    ("missing-date", "first_session", {"first_session": None},
     "Enter the date and time of the first session."),
    ("empty-date", "first_session", {"first_session": ""},
     "Enter the date and time of the first session."),
    ("date-only", "first_session", {"first_session": "2026-11-20"},
     "Not a valid datetime value."),
    ("bad-date", "first_session", {"first_session": "2026-02-30T10:00"},
     "Not a valid datetime value."),
    ("words-date", "first_session", {"first_session": "next friday"},
     "Not a valid datetime value."),
    ("sessions-0", "planned_sessions", {"planned_sessions": "0"},
     "Number must be between 1 and 12."),
    ("sessions-13", "planned_sessions", {"planned_sessions": "13"},
     "Number must be between 1 and 12."),
    ("sessions-abc", "planned_sessions", {"planned_sessions": "abc"},
     "Not a valid integer value."),
    ("sessions-empty", "planned_sessions", {"planned_sessions": ""},
     "This field is required."),
    ("interval-0", "interval_weeks", {"interval_weeks": "0"},
     "Number must be between 1 and 12."),
    ("interval-13", "interval_weeks", {"interval_weeks": "13"},
     "Number must be between 1 and 12."),
    ("interval-abc", "interval_weeks", {"interval_weeks": "abc"},
     "Not a valid integer value."),
    ("unknown-zone", "timezone", {"timezone": "Mars/Olympus"}, "Not a valid choice."),
    ("missing-zone", "timezone", {"timezone": None}, "This field is required."),
    ("dst-gap", "first_session", {"first_session": "2026-03-29T02:30"},
     "2026-03-29 02:30 does not exist in Europe/Rome: the clocks change that night"),
    ("dst-gap-new-york", "first_session",
     {"first_session": "2026-03-08T02:30", "timezone": "America/New_York"},
     "2026-03-08 02:30 does not exist in America/New_York"),
]


@pytest.mark.parametrize(
    ("field", "overrides", "message"),
    [row[1:] for row in BAD_ENROL],
    ids=[row[0] for row in BAD_ENROL],
)
def test_enrol_bad_input(signed_in, field, overrides, message):
    response = post_enrol(signed_in, **overrides)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    block = field_block(html, field)
    assert block["class"] == ["field", "has-error"]
    assert message in block.select_one(f"p.error#{field}-error").get_text()
    assert block.select_one(f'#{field}[aria-invalid="true"]')
    assert error_fields(html) == [field]
    assert "Please correct the fields marked below." in html
    assert patient_count() == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Course)) == 0


def test_enrol_bad_input_keeps_what_was_typed(signed_in):
    response = post_enrol(signed_in, planned_sessions="13", name="Maria Rossi")
    html = response.get_data(as_text=True)
    assert field_block(html, "name").select_one("input")["value"] == "Maria Rossi"
    assert field_block(html, "first_session").select_one("input")["value"] == "2026-11-20T10:00"


def test_enrol_without_csrf_token_creates_nothing(signed_in):
    response = signed_in.post("/staff/patients/new", data=GOOD_ENROL)
    assert response.status_code == 400
    assert "Page expired" in response.get_data(as_text=True)
    assert patient_count() == 0


@pytest.mark.parametrize(
    "first_session",
    ["9999-12-01T10:00", "2029-01-01T10:00", "2025-11-17T10:00", "0001-01-01T10:00"],
)
def test_enrol_implausible_dates_are_refused(signed_in, first_session):
    """Far from today is a typo in the year (and year 9999 would overflow the plan)."""
    response = post_enrol(signed_in, first_session=first_session)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert error_fields(html) == ["first_session"]
    error = field_error(html, "first_session")
    assert "out of range" in error or "Check the date" in error, error
    assert patient_count() == 0


@pytest.mark.parametrize("first_session", ["2025-11-19T10:00", "2028-11-16T10:00"])
def test_enrol_dates_within_the_window_are_accepted(signed_in, first_session):
    assert post_enrol(signed_in, first_session=first_session).status_code == 303
    assert patient_count() == 1


# -- invite links ----------------------------------------------------------------------------


def test_invite_page_of_another_clinic_s_patient_is_404(signed_in):
    other = create_clinic(name="Clinica Napoli", phone="+39 081 000")
    patient, _token = enrol_patient(other, name="Luca Bianchi")
    response = signed_in.get(f"/staff/patients/{patient.id}/invite")
    assert response.status_code == 404
    assert "Luca Bianchi" not in response.get_data(as_text=True)
    before = patient.invite_hash
    csrf = csrf_token(signed_in, "/staff/")
    reissue = signed_in.post(f"/staff/patients/{patient.id}/invite", data={"csrf_token": csrf})
    assert reissue.status_code == 404
    db.session.refresh(patient)
    assert patient.invite_hash == before


def test_invite_page_of_a_missing_patient_is_404(signed_in):
    assert signed_in.get("/staff/patients/999999/invite").status_code == 404


def test_reissue_replaces_the_link(app, signed_in):
    first = post_enrol(signed_in)
    invite_path = first.headers["Location"]
    old = invite_token(signed_in.get(invite_path).get_data(as_text=True))

    csrf = csrf_token(signed_in, invite_path)
    response = signed_in.post(invite_path, data={"csrf_token": csrf})
    assert response.status_code == 303
    assert response.headers["Location"] == invite_path
    new = invite_token(signed_in.get(invite_path).get_data(as_text=True))
    assert new != old
    patient = db.session.scalar(sa.select(Patient))
    db.session.refresh(patient)
    assert patient.invite_hash == hashlib.sha256(new.encode()).hexdigest()

    phone = app.test_client()
    stale = open_invite(phone, old)
    assert stale.status_code == 404
    assert "This link no longer works" in stale.get_data(as_text=True)
    fresh = open_invite(phone, new)
    assert fresh.status_code == 303
    assert fresh.headers["Location"] == "/today"


def test_reissue_without_csrf_token_keeps_the_link(signed_in, staff):
    patient, _ = enrol_patient(staff.clinic)
    before = patient.invite_hash
    response = signed_in.post(f"/staff/patients/{patient.id}/invite")
    assert response.status_code == 400
    db.session.refresh(patient)
    assert patient.invite_hash == before


def test_reissue_is_post_only(signed_in, staff):
    patient, _ = enrol_patient(staff.clinic)
    response = signed_in.put(f"/staff/patients/{patient.id}/invite")
    assert response.status_code == 405


# -- page hygiene ----------------------------------------------------------------------------


def staff_pages(client, staff):
    patient, _ = enrol_patient(staff.clinic)
    return {
        "roster": "/staff/",
        "enrol": "/staff/patients/new",
        "invite": f"/staff/patients/{patient.id}/invite",
    }


def test_sign_in_page_security_headers_and_no_inline_code(client):
    response = client.get("/staff/sign-in")
    csp = response.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in csp
    assert "'unsafe-eval'" not in csp
    assert "script-src 'self'" in csp
    assert "style-src 'self'" in csp
    assert "default-src 'self'" in csp
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    assert_no_inline_code(response.get_data(as_text=True))


def test_signed_in_pages_security_headers_and_no_inline_code(signed_in, staff):
    for name, path in staff_pages(signed_in, staff).items():
        response = signed_in.get(path)
        assert response.status_code == 200, name
        assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"], name
        assert response.headers["Referrer-Policy"] == "same-origin", name
        assert_no_inline_code(response.get_data(as_text=True))


def test_enrol_error_page_has_no_inline_code(signed_in):
    response = post_enrol(signed_in, name="")
    assert response.status_code == 400
    assert_no_inline_code(response.get_data(as_text=True))


def test_every_staff_page_has_the_csrf_meta(app, signed_in, staff):
    for name, path in staff_pages(signed_in, staff).items():
        assert csrf_meta(signed_in.get(path)), name
    for path, status in (("/staff/sign-in", 200), ("/no-such-page", 404)):
        response = app.test_client().get(path)
        assert response.status_code == status
        assert csrf_meta(response), path


def test_https_form_posts_pass_the_strict_referer_check(app, client):
    """Over HTTPS Flask-WTF demands a same-origin Referer: the page policy must let it through."""
    create_staff(create_clinic())
    page = client.get("/staff/sign-in", base_url="https://localhost")
    assert page.headers["Referrer-Policy"] == "same-origin"
    token = csrf_meta(page)
    form = {"email": "anna@clinic.example", "password": PASSWORD, "csrf_token": token}
    without = client.post("/staff/sign-in", data=form, base_url="https://localhost")
    assert without.status_code == 400  # what no-referrer would cause for every form
    response = client.post("/staff/sign-in", data=form, base_url="https://localhost",
                           headers={"Referer": "https://localhost/staff/sign-in"})
    assert response.status_code == 303
