"""Patient pages through the Flask test client: invite links, device cookies, Today, Timeline."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import DAY_ONE_PLAN, create_clinic, enrol_patient, open_invite
from helpers import assert_no_inline_code, csrf_meta, frozen, page_html, text_of, unhashed

import meso
from meso import access, policy, protocol
from meso.extensions import db
from meso.models import ClinicSettings, PatientDevice

# The `client` fixture makes every app.test_client() an IsolatedClient (conftest): each
# request gets its own app context, `g` and database session, as on a real server.
pytestmark = pytest.mark.usefixtures("client")

COOKIE = "meso_device"
# First session Fri 2026-11-20 10:00 in Rome (09:00 UTC); "now" is the next morning, 09:00.
SESSION = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
BEFORE = datetime(2026, 11, 18, 8, 0, tzinfo=UTC)  # Wed 09:00 in Rome, day -2
INVALID = "This link no longer works"



@pytest.fixture
def clinic(app):
    return create_clinic()


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def devices() -> list[PatientDevice]:
    return db.session.scalars(sa.select(PatientDevice).order_by(PatientDevice.id)).all()


def open_link(app, token: str):
    """Open an invite link in a fresh browser (test client); return (client, response)."""
    browser = app.test_client()
    return browser, open_invite(browser, token)


def signed_in_patient(app, clinic, at=NOW, **enrol):
    """Enrol a patient at ``at``, open their link; return (patient, client)."""
    with frozen(at):
        patient, token = enrol_patient(clinic, **enrol)
        browser, response = open_link(app, token)
    assert response.status_code == 303
    return patient, browser


def section(html: str, css_class: str):
    """The `<section class="card …">` of that class (one card of Today)."""
    card = page_html(html).select_one(f"section.card.{css_class}")
    assert card is not None, f"no section .{css_class}"
    return card


def items(card) -> dict:
    """Return {data-key: the `.item` entry} of a card."""
    return {item["data-key"]: item for item in card.select(".item[data-key]")}


def until_rows(card) -> list[tuple[str, list[str], str, str]]:
    """Each row of "Avoid for now": (data-until, its keys, "Until …", time left)."""
    return [(row["data-until"], [i["data-key"] for i in row.select(".item[data-key]")],
             text_of(row.select_one(".until")), text_of(row.select_one(".countdown")))
            for row in card.select("li.until-row")]


def day_line(html: str) -> str:
    return text_of(page_html(html).select_one("h1#today-title.day-line"))


def phases(html: str) -> list[tuple[str, bool, bool]]:
    """Return (key, has class current, has aria-current=step) for each step of the strip."""
    found = []
    for phase in page_html(html).select("li.phase"):
        [key] = [c.removeprefix("phase-") for c in phase["class"] if c.startswith("phase-")]
        found.append((key, "current" in phase["class"], phase.get("aria-current") == "step"))
    return found


def strip(html: str) -> list[str]:
    """The phase strip's steps as they read: "Settling · to Sun 22 Nov"."""
    return [text_of(step) for step in page_html(html).select("ol.phases > li.phase")]


def assert_invalid_link_page(response) -> None:
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert f"<h1>{INVALID}</h1>" in html
    assert "ask your clinic for a new link" in html
    # The lifetime it names is the one in force (INVITE_DAYS), not a fixed "two weeks".
    assert "stop working after 14 days," in html
    assert "Traceback" not in html
    assert not any(h.startswith(f"{COOKIE}=") for h in response.headers.getlist("Set-Cookie"))


# -- the invite link -------------------------------------------------------------------------


def test_invite_link_sets_a_device_cookie_and_goes_to_today(app, clinic):
    with frozen(NOW):
        patient, token = enrol_patient(clinic)
        browser, response = open_link(app, token)
    assert response.status_code == 303
    assert response.headers["Location"] == "/today"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    cookie = browser.get_cookie(COOKIE)
    assert cookie is not None
    assert cookie.http_only is True
    assert cookie.secure is True
    assert cookie.same_site == "Lax"
    assert cookie.path == "/"
    assert cookie.max_age == 400 * 24 * 3600
    assert len(cookie.value) >= 43
    assert cookie.value != token
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE))
    assert "; Secure" in header
    assert "; HttpOnly" in header
    assert "; SameSite=Lax" in header
    [device] = devices()
    assert device.patient_id == patient.id
    assert device.token_hash == sha256(cookie.value)
    assert device.revoked_at is None
    assert device.created_at == NOW
    with frozen(NOW):
        today = browser.get("/today")
    assert today.status_code == 200
    assert "Hello Maria" in today.get_data(as_text=True)


def test_invite_link_works_on_a_second_device(app, clinic):
    with frozen(NOW):
        patient, token = enrol_patient(clinic)
        phone, first = open_link(app, token)
    with frozen(NOW + timedelta(days=2)):
        tablet, second = open_link(app, token)
    assert first.status_code == second.status_code == 303
    assert second.headers["Location"] == "/today"
    phone_cookie = phone.get_cookie(COOKIE).value
    tablet_cookie = tablet.get_cookie(COOKIE).value
    assert phone_cookie != tablet_cookie
    rows = devices()
    assert [d.patient_id for d in rows] == [patient.id, patient.id]
    assert {d.token_hash for d in rows} == {sha256(phone_cookie), sha256(tablet_cookie)}
    for browser in (phone, tablet):
        response = browser.get("/today")
        assert response.status_code == 200
        assert "Hello Maria" in response.get_data(as_text=True)


def test_expired_link(app, clinic):
    with frozen(NOW):
        _, token = enrol_patient(clinic)
    with frozen(NOW + timedelta(days=15)):
        _, response = open_link(app, token)
    assert_invalid_link_page(response)
    assert devices() == []


@pytest.mark.parametrize(
    ("later", "status"),
    [(timedelta(days=14) - timedelta(minutes=1), 303), (timedelta(days=14), 404)],
    ids=["just-before-14-days", "at-14-days"],
)
def test_link_expires_after_exactly_14_days(app, clinic, later, status):
    with frozen(NOW):
        _, token = enrol_patient(clinic)
    with frozen(NOW + later):
        _, response = open_link(app, token)
    assert response.status_code == status
    assert len(devices()) == (1 if status == 303 else 0)


@pytest.mark.parametrize(
    "token",
    ["A" * 43, "short", "x" * 101, "%00", "..%2F..%2Fetc%2Fpasswd"],
    ids=["unknown", "short", "too-long", "nul", "traversal"],
)
def test_unknown_link(app, clinic, token):
    with frozen(NOW):
        enrol_patient(clinic)
        _, response = open_link(app, token)
    assert response.status_code == 404
    assert "Traceback" not in response.get_data(as_text=True)
    assert not response.headers.getlist("Set-Cookie") or not any(
        h.startswith(f"{COOKIE}=") for h in response.headers.getlist("Set-Cookie"))
    assert devices() == []


def test_unknown_link_gets_the_friendly_page(app, clinic):
    with frozen(NOW):
        _, response = open_link(app, "A" * 43)
    assert_invalid_link_page(response)


def test_reissued_link(app, clinic):
    with frozen(NOW):
        patient, old = enrol_patient(clinic)
        new = patient.issue_invite(NOW, 14)
        db.session.commit()
        _, stale = open_link(app, old)
        assert_invalid_link_page(stale)
        assert devices() == []
        _, fresh = open_link(app, new)
    assert fresh.status_code == 303
    assert fresh.headers["Location"] == "/today"
    assert len(devices()) == 1


def test_archived_patient_link(app, clinic):
    with frozen(NOW):
        patient, token = enrol_patient(clinic)
        patient.archived_at = NOW
        db.session.commit()
        _, response = open_link(app, token)
    assert_invalid_link_page(response)
    assert devices() == []


def test_device_outlives_the_link(app, clinic):
    """The link expires after 14 days; the device it made keeps working."""
    _, browser = signed_in_patient(app, clinic)
    with frozen(NOW + timedelta(days=30)):
        response = browser.get("/today")
    assert response.status_code == 200
    assert "Hello Maria" in response.get_data(as_text=True)


def test_last_seen_is_written_at_most_hourly(app, clinic):
    _, browser = signed_in_patient(app, clinic)
    with frozen(NOW + timedelta(minutes=30)):
        assert browser.get("/today").status_code == 200
    db.session.expire_all()
    assert devices()[0].last_seen_at == NOW
    with frozen(NOW + timedelta(hours=2)):
        assert browser.get("/today").status_code == 200
    db.session.expire_all()
    assert devices()[0].last_seen_at == NOW + timedelta(hours=2)


# -- without a (live) device -----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/today", "/timeline"])
def test_pages_without_a_cookie_are_401(client, path):
    response = client.get(path)
    assert response.status_code == 401
    html = response.get_data(as_text=True)
    assert "<h1>Open the link from your clinic</h1>" in html
    assert "Ask your clinic for a new one." in html
    assert "Traceback" not in html


def test_api_plan_without_a_cookie_is_401_json(client):
    response = client.get("/api/plan")
    assert response.status_code == 401
    assert response.is_json
    body = response.get_json()
    assert list(body) == ["error"]
    assert "open the link" in body["error"]


@pytest.mark.parametrize("value", ["garbage", "A" * 43, "x" * 500])
def test_unknown_cookie_is_401(client, value):
    client.set_cookie(COOKIE, value)
    assert client.get("/today").status_code == 401
    assert client.get("/api/plan").status_code == 401


def test_revoked_device_is_401(app, clinic):
    patient, browser = signed_in_patient(app, clinic)
    _other_patient, other = signed_in_patient(app, clinic, name="Luca Bianchi")
    with frozen(NOW):
        assert access.revoke_devices(patient, NOW) == 1
        db.session.commit()
        for path in ("/today", "/timeline"):
            response = browser.get(path)
            assert response.status_code == 401
            assert "Maria" not in response.get_data(as_text=True)
        api = browser.get("/api/plan")
        assert api.status_code == 401
        assert "error" in api.get_json()
        # Only that patient's devices are revoked.
        assert other.get("/today").status_code == 200
    assert devices()[0].revoked_at == NOW


def test_archived_patient_device_is_401(app, clinic):
    patient, browser = signed_in_patient(app, clinic)
    patient.archived_at = NOW
    db.session.commit()
    with frozen(NOW):
        assert browser.get("/today").status_code == 401
        assert browser.get("/api/plan").status_code == 401


@pytest.mark.parametrize(("method", "path"), [
    ("post", "/push/subscriptions"), ("delete", "/push/subscriptions"), ("post", "/push/test"),
])
def test_script_routes_without_a_device_get_a_json_401(app, clinic, method, path):
    """The same decorator guards pages and scripts; scripts get JSON even without a body."""
    patient, phone = signed_in_patient(app, clinic)
    with frozen(NOW):
        token = csrf_meta(phone.get("/today"))
        access.revoke_devices(patient, NOW)
        db.session.commit()
        response = getattr(phone, method)(path, headers={"X-CSRFToken": token})
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.is_json and "open the link" in response.get_json()["error"]


def test_the_device_cookie_is_read_in_one_place():
    """meso.access reads and writes it; every view asks patient_required, and the path
    before Flask (meso/kept_pages.py) asks access.device_token and access.is_live: a revoked
    device is out everywhere at once, and no second reader can forget a check."""
    root = Path(meso.__file__).parent
    users = sorted(str(path.relative_to(root)) for path in root.rglob("*.py")
                   if "DEVICE_COOKIE" in path.read_text(encoding="utf-8"))
    assert users == ["access.py", "config.py"]


def test_home_goes_to_today(client):
    response = client.get("/")
    assert response.status_code in (302, 303)
    assert response.headers["Location"] == "/today"


# -- Today -----------------------------------------------------------------------------------


def test_today_the_morning_after_the_first_session(app, clinic):
    _, browser = signed_in_patient(app, clinic)
    with frozen(NOW):
        response = browser.get("/today")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert day_line(html) == "Day 1 · Session 1 of 4 · Face"
    assert "Hello Maria" in html
    assert phases(html) == [("immediate", True, True), ("first_weeks", False, False),
                            ("session", False, False)]
    assert strip(html) == ["Settling · to Sun 22 Nov", "Recovering · to 10 Dec",
                           "Session 2 · week of 11 Dec"]
    page = page_html(html)
    assert len(page.select('[aria-current="step"]')) == 1
    assert page.select_one("p.phase-summary")["data-phase"] == "immediate"

    # What to avoid, one row per end instant, each with its end for the live countdown.
    avoid = section(html, "avoid")
    assert until_rows(avoid) == [
        ("2026-11-22T10:00:00+01:00", ["heat", "sun", "makeup"], "Until tomorrow 10:00",
         "in 1 day"),
        ("2026-11-27T10:00:00+01:00", ["exfoliants"], "Until Fri 27 Nov, 10:00", "in 6 days"),
        ("2026-12-04T10:00:00+01:00", ["vitamin_a", "acids_peels"], "Until Fri 4 Dec, 10:00",
         "in 13 days"),
    ]
    assert text_of(items(avoid)["heat"]) == protocol.RESTRICTIONS["heat"].name
    # Each reason is one tap away, in the row's <details>.
    heat_row = avoid.select_one("li.until-row details.why-toggle")
    assert text_of(heat_row.select_one('.why[data-key="heat"]')) == protocol.RESTRICTIONS[
        "heat"].why
    assert heat_row.select_one("summary .item") is not None
    moment = avoid.select_one("time.moment")
    assert (moment["datetime"], moment["data-date"], moment["data-clock"]) == (
        "2026-11-22T10:00:00+01:00", "Sun 22 Nov, 10:00", "10:00")
    assert avoid["data-zone"] == "Europe/Rome"
    assert avoid["data-t-tomorrow"] == "tomorrow %(time)s"
    assert page.select_one("section.card.ok") is None  # nothing allowed again yet

    assert "Mild redness, warmth, tenderness or swelling are normal" in text_of(
        section(html, "normal"))
    do_today = text_of(section(html, "do"))
    assert protocol.SUNSCREEN_TODAY in do_today
    assert "sunscreen until" not in do_today  # daily sunscreen has no end date
    next_card = text_of(section(html, "next"))
    assert "week of 11 Dec · time to be confirmed" in next_card
    assert "1 of 4 done" in next_card

    assert 'href="tel:+390612345678"' in html
    assert "Call Clinica Roma · +39 06 1234 5678" in text_of(html)
    flags = text_of(section(html, "redflags"))
    assert flags.startswith("Contact your clinic if you notice")
    for line in protocol.RED_FLAGS:
        assert line in flags
    assert protocol.EMERGENCY in flags
    scripts = [unhashed(tag["src"]) for tag in page_html(html).select('script[type="module"]')]
    assert "/static/js/countdown.js" in scripts
    assert '<html lang="en-GB">' in html


def test_today_after_the_48_hour_window(app, clinic):
    _, browser = signed_in_patient(app, clinic)
    with frozen(datetime(2026, 11, 28, 8, 0, tzinfo=UTC)):  # Sat 09:00 Rome, day 8
        html = browser.get("/today").get_data(as_text=True)
    assert day_line(html) == "Day 8 · Session 1 of 4 · Face"
    assert [k for k, _, aria in phases(html) if aria] == ["first_weeks"]
    ok_items = items(section(html, "ok"))
    assert list(ok_items) == ["heat", "sun", "makeup", "exfoliants"]
    assert text_of(ok_items["heat"]) == "Sauna, hot baths and workouts"
    since = [(row["data-since"], text_of(row.select_one(".since")))
             for row in section(html, "ok").select("li.since-row")]
    assert since == [("2026-11-22T10:00:00+01:00", "since Sun 22 Nov, 10:00"),
                     ("2026-11-27T10:00:00+01:00", "since Fri 27 Nov, 10:00")]
    assert list(items(section(html, "avoid"))) == ["vitamin_a", "acids_peels"]
    assert protocol.SECOND_WEEK_NORMAL[0] in text_of(section(html, "normal"))


def test_today_before_the_first_session(app, clinic):
    _, browser = signed_in_patient(app, clinic, at=BEFORE)
    with frozen(BEFORE):
        response = browser.get("/today")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert day_line(html) == "2 days to go · Before your first session · Face"
    assert phases(html) == [("preparation", True, True), ("session", False, False),
                            ("immediate", False, False)]
    assert strip(html) == ["Getting ready", "Session 1 · Fri 20 Nov", "Settling · to Sun 22 Nov"]
    assert page_html(html).select_one("p.phase-summary")["data-phase"] == "preparation"
    first = section(html, "session-soon")
    assert text_of(first.select_one("p.big")) == "Fri 20 Nov, 10:00"
    assert first.select_one("#calendar a[href='/calendar']") is not None
    # Never "OK from": tanning beds are never fine during a course (DESIGN §3).
    assert until_rows(section(html, "avoid")) == [
        ("2026-11-20T10:00:00+01:00", ["tanning_beds"], "Until your session, Fri 20 Nov, 10:00",
         "in 2 days")]
    assert "OK" not in text_of(section(html, "avoid"))
    prepare = text_of(section(html, "prepare"))
    assert prepare.startswith("Before your session")
    for line in protocol.PREPARE:
        assert text_of(line) in prepare
    assert page_html(html).select_one("section.card.next") is None
    assert 'href="tel:+390612345678"' in html


def test_today_after_the_last_session(app, clinic):
    _patient, browser = signed_in_patient(app, clinic, sessions=1)
    with frozen(datetime(2026, 12, 30, 8, 0, tzinfo=UTC)):
        html = browser.get("/today").get_data(as_text=True)
    assert day_line(html) == "Day 40 · Session 1 of 1 · Face"
    assert [k for k, _, aria in phases(html) if aria] == ["cumulative"]
    assert "All 1 planned sessions are done." in text_of(section(html, "next"))
    assert protocol.CUMULATIVE_RESULTS["face"] in text_of(section(html, "normal"))


def card_order(html: str) -> list[str]:
    """Today's cards in page order, each by its id or its second class ("normal", "do"…)."""
    return [card.get("id") or card["class"][1] for card in
            page_html(html).select("main section.card")]


@pytest.mark.parametrize("at", [SESSION + timedelta(hours=11),  # day 0, 21:00 in Rome
                                SESSION + timedelta(days=3, hours=8),
                                SESSION + timedelta(days=10, hours=1)])
def test_today_follows_the_order_of_an_anxious_evening(app, clinic, at):
    """Normal now, when to call, what to avoid, what to do, the check-in, then the next
    session, reminders and the installed app."""
    _, browser = signed_in_patient(app, clinic)
    with frozen(at):
        html = browser.get("/today").get_data(as_text=True)
    order = [card for card in card_order(html) if card != "ok-again"]
    assert order == ["normal", "red-flags", "avoid", "do", "checkin", "next", "reminders",
                     "access-code-card", "your-data"]
    assert page_html(html).select_one("footer #install")  # the install card: below, always


def test_day_0_at_nine_in_the_evening_reads_normal_tonight(app, clinic):
    _, browser = signed_in_patient(app, clinic)
    with frozen(SESSION + timedelta(hours=11)):
        html = browser.get("/today").get_data(as_text=True)
    assert text_of(page_html(html).select_one("#normal h2")) == "Normal tonight"
    with frozen(SESSION + timedelta(days=1)):
        html = browser.get("/today").get_data(as_text=True)
    assert text_of(page_html(html).select_one("#normal h2")) == "Normal today"


def test_the_call_buttons_are_in_the_header_and_the_red_flags_card(app, clinic):
    _, browser = signed_in_patient(app, clinic)
    with frozen(NOW):
        pages = [browser.get(url).get_data(as_text=True)
                 for url in ("/today", "/timeline", "/reminders", "/checkins/new")]
    for html in pages:
        call = page_html(html).select_one("header a.call-top")
        assert (call["href"], call["aria-label"], text_of(call)) == (
            "tel:+390612345678", "Call Clinica Roma", "Call")
    flags = page_html(pages[0]).select_one("section#red-flags")
    assert flags.select_one("a.button.call")["href"] == "tel:+390612345678"
    emergency = flags.select_one("a.call-emergency-line")
    assert (emergency["href"], text_of(emergency)) == ("tel:112", "Call 112")
    assert not flags.select("#call-clinic, #call-emergency")  # the check-in answer's ids


def test_no_call_button_without_a_clinic_phone(app):
    _, browser = signed_in_patient(app, create_clinic(phone=""))
    with frozen(NOW):
        html = browser.get("/today").get_data(as_text=True)
    assert page_html(html).select_one("header .call-top") is None
    assert page_html(html).select_one("#red-flags a.call-emergency-line")["href"] == "tel:112"


def set_opening_hours(clinic, hours) -> None:
    settings = ClinicSettings.of(clinic.id)
    settings.opening_hours = hours
    db.session.add(settings)
    db.session.commit()


@pytest.mark.parametrize(("at", "closed"), [
    (datetime(2026, 11, 23, 9, 0, tzinfo=UTC), None),  # Mon 10:00 in Rome: open
    (datetime(2026, 11, 23, 20, 0, tzinfo=UTC), "It opens again tomorrow 09:00."),  # Mon 21:00
    (datetime(2026, 11, 21, 20, 0, tzinfo=UTC), "It opens again Mon 23 Nov, 09:00."),  # Sat
])
def test_out_of_hours_the_red_flags_card_says_what_to_do(app, clinic, at, closed):
    set_opening_hours(clinic, [["09:00", "19:00"]] * 5 + [None, None])
    _, browser = signed_in_patient(app, clinic)
    with frozen(at):
        html = browser.get("/today").get_data(as_text=True)
    note = page_html(html).select_one("#red-flags .out-of-hours")
    if closed is None:
        assert note is None
        return
    said = text_of(note)
    assert said.startswith(f"{protocol.CLOSED_NOW} {closed}")
    assert "For an emergency, call 112 now." in said


def test_without_opening_hours_nobody_is_told_the_clinic_is_closed(app, clinic):
    _, browser = signed_in_patient(app, clinic)
    with frozen(datetime(2026, 11, 21, 23, 0, tzinfo=UTC)):  # midnight
        html = browser.get("/today").get_data(as_text=True)
    assert page_html(html).select_one(".out-of-hours") is None


def test_red_flags_stand_after_the_session_card_before_the_first_session(app, clinic):
    _, browser = signed_in_patient(app, clinic, at=BEFORE)
    with frozen(BEFORE):
        html = browser.get("/today").get_data(as_text=True)
    order = card_order(html)
    assert order.index("prepare") < order.index("red-flags") < order.index("reminders")


def test_the_red_flags_card_lists_the_warning_signs(app, clinic):
    _, browser = signed_in_patient(app, clinic)
    with frozen(NOW):
        html = browser.get("/today").get_data(as_text=True)
    card = text_of(page_html(html).select_one("section#red-flags"))
    for line in protocol.RED_FLAGS:
        assert line in card
    assert "spreads or gets worse at any time, or is not fading by day 3" in card
    assert "cold sore" in card and "pale, grey or blotchy" in card


def test_today_says_results_build_with_each_session_during_a_course(app, clinic):
    _, browser = signed_in_patient(app, clinic, sessions=2, interval=6)
    for days, phase in ((1, "immediate"), (10, "first_weeks"), (30, "cumulative")):
        with frozen(SESSION + timedelta(days=days)):
            html = browser.get("/today").get_data(as_text=True)
        assert page_html(html).select_one("p.phase-summary")["data-phase"] == phase
        builds = protocol.COURSE_BUILDS if phase != "cumulative" else \
            protocol.PHASE_SUMMARIES["cumulative"]
        assert builds in text_of(html), phase
        assert text_of(html).count("builds on the one before") <= 1
    strip = page_html(html).select_one('li.phase-cumulative[aria-current="step"]')
    assert text_of(strip.select_one(".phase-name")) == "Over your course"
    with frozen(SESSION + timedelta(weeks=6, days=1)):  # the last session was yesterday
        html = browser.get("/today").get_data(as_text=True)
    assert protocol.COURSE_BUILDS not in text_of(html)  # no more sessions to come


@pytest.mark.parametrize(
    ("area", "name"), [("face", "Face"), ("scalp", "Scalp"), ("body", "Body")]
)
def test_today_names_the_area(app, clinic, area, name):
    _, browser = signed_in_patient(app, clinic, area=area)
    with frozen(NOW):
        html = browser.get("/today").get_data(as_text=True)
    assert day_line(html) == f"Day 1 · Session 1 of 4 · {name}"


def test_today_in_another_time_zone(app):
    clinic = create_clinic(name="NY Clinic", phone="+1 212 555 0100",
                           timezone="America/New_York")
    # 10:00 in New York on Fri 20 Nov is 15:00 UTC; "now" is 09:00 there the next day.
    _, browser = signed_in_patient(app, clinic, at=datetime(2026, 11, 21, 14, 0, tzinfo=UTC),
                                   first_session=datetime(2026, 11, 20, 15, 0, tzinfo=UTC),
                                   timezone="America/New_York")
    with frozen(datetime(2026, 11, 21, 14, 0, tzinfo=UTC)):
        html = browser.get("/today").get_data(as_text=True)
    assert day_line(html) == "Day 1 · Session 1 of 4 · Face"
    [first, *_] = until_rows(section(html, "avoid"))
    assert first == ("2026-11-22T10:00:00-05:00", ["heat", "sun", "makeup"],
                     "Until tomorrow 10:00", "in 1 day")
    assert 'href="tel:+12125550100"' in html


# -- /api/plan -------------------------------------------------------------------------------


def test_api_plan_is_the_planner_output(app, clinic):
    patient, browser = signed_in_patient(app, clinic)
    with frozen(NOW):
        response = browser.get("/api/plan")
        expected = policy.plan_for(patient).to_json()
    assert response.status_code == 200
    assert response.is_json
    assert response.headers["Cache-Control"] == "no-store"
    assert response.get_json() == expected
    assert response.get_json() == DAY_ONE_PLAN


def test_api_plan_before_the_first_session(app, clinic):
    patient, browser = signed_in_patient(app, clinic, at=BEFORE)
    with frozen(BEFORE):
        body = browser.get("/api/plan").get_json()
        assert body == policy.plan_for(patient).to_json()
    assert body["day"] == -2
    assert body["hours_since_session"] == -49.0
    assert body["phase"] == "preparation"
    assert body["session"] == {"number": 0, "of": 4}
    assert body["next_session"] == "2026-11-20T10:00:00+01:00"


def test_api_plan_follows_the_clock(app, clinic):
    patient, browser = signed_in_patient(app, clinic)
    for at in (NOW + timedelta(days=3), NOW + timedelta(days=30)):
        with frozen(at):
            assert browser.get("/api/plan").get_json() == policy.plan_for(patient).to_json()


# -- one patient never sees another ----------------------------------------------------------


def test_a_patient_sees_only_their_own_plan(app, clinic):
    other_clinic = create_clinic(name="Clinica Napoli", phone="+39 081 555 0000")
    maria, a = signed_in_patient(app, clinic, name="Maria Rossi", area="face")
    luca, b = signed_in_patient(app, other_clinic, name="Luca Bianchi", area="scalp",
                                first_session=datetime(2026, 11, 10, 9, 0, tzinfo=UTC),
                                timezone="Europe/Rome")
    with frozen(NOW):
        for _ in range(2):  # interleaved, so nothing carries over from the previous request
            a_today = a.get("/today").get_data(as_text=True)
            b_today = b.get("/today").get_data(as_text=True)
            a_timeline = a.get("/timeline").get_data(as_text=True)
            b_timeline = b.get("/timeline").get_data(as_text=True)
            a_plan = a.get("/api/plan").get_json()
            b_plan = b.get("/api/plan").get_json()

            assert day_line(a_today) == "Day 1 · Session 1 of 4 · Face"
            assert "Hello Maria" in a_today
            assert day_line(b_today) == "Day 11 · Session 1 of 4 · Scalp"
            assert "Hello Luca" in b_today
            for page in (a_today, a_timeline):
                assert "Luca" not in page
                assert "Scalp" not in page
                assert "Clinica Napoli" not in page
                assert "Clinica Roma" in page
            for page in (b_today, b_timeline):
                assert "Maria" not in page
                assert "Clinica Roma" not in page
                assert "Clinica Napoli" in page
            assert a_plan == policy.plan_for(maria).to_json()
            assert b_plan == policy.plan_for(luca).to_json()
            assert (a_plan["area"], a_plan["day"]) == ("face", 1)
            assert (b_plan["area"], b_plan["day"]) == ("scalp", 11)


def test_patients_of_one_clinic_are_apart(app, clinic):
    _, a = signed_in_patient(app, clinic, name="Maria Rossi", area="face")
    _, b = signed_in_patient(app, clinic, name="Giulia Verdi", area="body")
    with frozen(NOW):
        a_html = a.get("/today").get_data(as_text=True)
        b_html = b.get("/today").get_data(as_text=True)
    assert "Hello Maria" in a_html and "Giulia" not in a_html
    assert "Hello Giulia" in b_html and "Maria" not in b_html
    assert day_line(b_html).endswith("· Body")


# -- Timeline --------------------------------------------------------------------------------


def cycle_lines(html: str) -> list[tuple[str, str, str]]:
    """Return (data-session, state, heading) of each cycle of the Timeline."""
    return [(cycle["data-session"], cycle["class"][-1], text_of(cycle.select_one("h2")))
            for cycle in page_html(html).select("section.cycle")]


def timeline_rows(html: str) -> list[tuple[str, bool, str]]:
    """Return (classes, aria-current=date, text) of each day row."""
    return [(" ".join(row["class"]), row.get("aria-current") == "date", text_of(row))
            for row in page_html(html).select("li.day")]


@pytest.mark.parametrize("area", ["face", "scalp", "body"])
def test_timeline(app, clinic, area):
    enrolled = datetime(2026, 11, 15, 9, 0, tzinfo=UTC)  # booked five days ahead
    _, browser = signed_in_patient(app, clinic, at=enrolled, area=area)
    with frozen(NOW):
        response = browser.get("/timeline")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    rows = timeline_rows(html)

    current = [r for r in rows if r[1]]
    assert len(current) == 1
    classes, _, text = current[0]
    assert classes == "day today phase-immediate"
    assert text.startswith("Sat 21 Nov Day 1 · Settling Today")
    page = page_html(html)
    assert len(page.select('[aria-current="date"]')) == 1
    assert [text_of(b) for b in page.select("strong.today-badge")] == ["Today"]

    past = [r for r in rows if r[0].split()[1] == "past"]
    future = [r for r in rows if r[0].split()[1] == "future"]
    assert len(past) + len(future) + 1 == len(rows)
    assert past and future
    assert rows.index(current[0]) == len(past)  # past days, then today, then the rest
    assert all(not r[1] for r in past + future)
    assert past[0][2].startswith("Sun 15 Nov")  # from enrolment
    assert "(past)" in past[0][2]
    session_day = next(r for r in past if r[2].startswith("Fri 20 Nov"))
    assert "Session 1 at 10:00" in session_day[2]
    assert "(past)" not in "".join(r[2] for r in future)
    assert "OK again from 10:00: Sauna, hot baths and workouts · " in next(
        r for r in future if r[2].startswith("Sun 22 Nov"))[2]
    assert future[-1][2].startswith("Fri 19 Feb Day 28")  # 28 days after the 4th (22 Jan)

    # The cycle of today open, every other one a line that opens to its days.
    assert cycle_lines(html) == [
        ("0", "past", "Before your first session · 15\u201319 Nov"),
        ("1", "current", "After session 1 · Fri 20 Nov"),
        ("2", "future", "Session 2 · week of 11 Dec · same aftercare"),
        ("3", "future", "Session 3 · week of 1 Jan · same aftercare"),
        ("4", "future", "Session 4 · week of 22 Jan · same aftercare"),
    ]
    page = text_of(html)
    assert "4 sessions, about 3 weeks apart." in page
    assert "Session 1 of 4 done." in page
    assert protocol.CUMULATIVE_RESULTS[area] in page
    for other in {"face", "scalp", "body"} - {area}:
        assert protocol.CUMULATIVE_RESULTS[other] not in page


def test_timeline_before_the_first_session(app, clinic):
    _, browser = signed_in_patient(app, clinic, at=BEFORE)
    with frozen(BEFORE):
        html = browser.get("/timeline").get_data(as_text=True)
    rows = timeline_rows(html)
    [current] = [r for r in rows if r[1]]
    assert current[0] == "day today phase-preparation"
    assert current[2].startswith("Wed 18 Nov 2 days before · Getting ready Today")
    assert not [r for r in rows if " past " in f" {r[0]} "]
    assert "Session 0 of 4 done." in text_of(html)


# -- page hygiene ----------------------------------------------------------------------------


def patient_pages(app, clinic):
    """Return {name: response} of the patient pages, signed in and not."""
    _, browser = signed_in_patient(app, clinic)
    stranger = app.test_client()
    with frozen(NOW):
        _, token = enrol_patient(clinic, name="Luca Bianchi")
        return {
            "today": browser.get("/today"),
            "timeline": browser.get("/timeline"),
            "access code": browser.get("/access-code"),
            "invite landing": stranger.get(f"/i/{token}"),
            "invalid link": stranger.get("/i/" + "A" * 43),
            "no access": stranger.get("/today"),
            "not found": browser.get("/no-such-page"),
        }


def test_patient_pages_security_headers_and_no_inline_code(app, clinic):
    for name, response in patient_pages(app, clinic).items():
        csp = response.headers["Content-Security-Policy"]
        assert "'unsafe-inline'" not in csp, name
        assert "'unsafe-eval'" not in csp, name
        assert "script-src 'self'" in csp, name
        assert "style-src 'self'" in csp, name
        assert "frame-ancestors 'none'" in csp, name
        # A URL that holds an invite token is never sent on as a Referer.
        expected = "no-referrer" if name in ("invite landing", "invalid link") else "same-origin"
        assert response.headers["Referrer-Policy"] == expected, name
        assert response.headers["X-Content-Type-Options"] == "nosniff", name
        assert response.headers["Cache-Control"] == "no-store", name
        assert_no_inline_code(response.get_data(as_text=True))


def test_every_patient_page_has_the_csrf_meta(app, clinic):
    pages = patient_pages(app, clinic)
    assert {name: r.status_code for name, r in pages.items()} == {
        "today": 200, "timeline": 200, "access code": 200, "invite landing": 200,
        "invalid link": 404, "no access": 401, "not found": 404}
    for name, response in pages.items():
        assert csrf_meta(response), name


@pytest.mark.parametrize(("hops", "seen"), [(0, "127.0.0.1"), (1, "203.0.113.9")])
def test_forwarded_client_address_is_trusted_only_behind_a_configured_proxy(
    tmp_path, hops, seen
):
    """Rate limits key on the client address: X-Forwarded-For counts only with MESO_PROXY_HOPS."""
    from flask import request

    from meso import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "x", "PROXY_HOPS": hops,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.db'}"},
                     instance_path=str(tmp_path / "inst"))
    app.add_url_rule("/_addr", "addr", lambda: request.remote_addr)
    response = app.test_client().get("/_addr", headers={"X-Forwarded-For": "203.0.113.9"},
                                     environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert response.get_data(as_text=True) == seen
