"""Daily check-ins through the test client: stored exactly once, red flags answered, bad input."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from conftest import create_clinic, enrol_patient, open_invite
from helpers import csrf_meta, frozen, page_html
from hypothesis import given, settings
from hypothesis import strategies as st

from meso import checkins, protocol
from meso.extensions import db
from meso.models import CheckIn, Patient

pytestmark = pytest.mark.usefixtures("client")  # makes app.test_client() an IsolatedClient

SESSION = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # Fri 10:00 in Rome
NOW = datetime(2026, 11, 21, 17, 0, tzinfo=UTC)  # Sat 18:00 in Rome, day 1
KEY = "0f8fad5b-d9cb-469f-a165-70867728950e"


@pytest.fixture
def clinic(app):
    return create_clinic()


def patient_client(app, clinic, name="Maria Rossi", **enrol):
    """Enrol a patient, open their link in a fresh test client; return (patient, client)."""
    patient, token = enrol_patient(clinic, name=name, first_session=SESSION, **enrol)
    browser = app.test_client()
    assert open_invite(browser, token).status_code == 303
    return patient, browser


def token_of(browser, url="/today") -> str:
    return csrf_meta(browser.get(url))


def checkin_key(html) -> str:
    """The idempotency key the check-in form carries (one per form shown)."""
    key = page_html(html).select_one('form[action="/checkins"] input[name="key"]')["value"]
    assert len(key) == 32 and set(key) <= set("0123456789abcdef"), key
    return key


def owner_of(html) -> str:
    """The opaque owner id the page gives the check-in script (never the patient's id)."""
    return page_html(html).select_one("[data-owner]")["data-owner"]


def post_json(browser, body, token=None):
    token = token if token is not None else token_of(browser)
    return browser.post("/checkins", json=body, headers={"X-CSRFToken": token})


def stored() -> list[CheckIn]:
    db.session.rollback()  # end any read transaction: see what the requests committed
    return db.session.scalars(sa.select(CheckIn).order_by(CheckIn.id)).all()


def body(**changes):
    return {"key": KEY, "feeling": 4, "symptoms": [], "at": "2026-11-21T17:59:00+01:00",
            **changes}


# -- exactly once ---------------------------------------------------------------------------

def test_json_check_in_is_stored_once_and_a_repeat_gets_the_same_answer(app, clinic):
    patient, browser = patient_client(app, clinic)
    with frozen(NOW):
        first = post_json(browser, body(symptoms=["fever"]))
        again = post_json(browser, body(symptoms=["fever"]))
    assert first.status_code == 201
    assert again.status_code == 200
    assert first.get_json() == again.get_json() == {
        "key": KEY, "date": "2026-11-21", "feeling": 4, "symptoms": ["fever"],
        "guidance": "contact",
    }
    [row] = stored()
    assert (row.patient_id, row.local_date, row.feeling, row.symptoms) == (
        patient.id, date(2026, 11, 21), 4, "fever")
    assert row.created_at == NOW


def test_a_repeat_with_other_answers_keeps_the_first(app, clinic):
    _, browser = patient_client(app, clinic)
    with frozen(NOW):
        post_json(browser, body(feeling=5))
        again = post_json(browser, body(feeling=1, symptoms=["rash"]))
    assert again.status_code == 200
    assert again.get_json()["feeling"] == 5
    assert [(r.feeling, r.symptoms) for r in stored()] == [(5, "")]


def test_keys_are_per_patient(app, clinic):
    _, maria = patient_client(app, clinic)
    _, lucia = patient_client(app, clinic, name="Lucia Bianchi")
    with frozen(NOW):
        assert post_json(maria, body()).status_code == 201
        assert post_json(lucia, body()).status_code == 201
    assert len(stored()) == 2


def test_new_keys_are_new_check_ins(app, clinic):
    _, browser = patient_client(app, clinic)
    with frozen(NOW):
        for n in range(3):
            assert post_json(browser, body(key=f"{KEY[:-1]}{n}")).status_code == 201
    assert len(stored()) == 3


def test_concurrent_repeats_store_one_row(app, clinic):
    """Four tabs (or a retry racing its first try) send one check-in at once: one row."""
    _patient, token = enrol_patient(clinic, first_session=SESSION)
    tabs = []
    for _ in range(4):
        tab = app.test_client()
        assert open_invite(tab, token).status_code == 303
        tabs.append((tab, token_of(tab)))
    statuses: list[int] = []
    start = threading.Barrier(len(tabs))

    def send(tab, csrf):
        start.wait()
        statuses.append(post_json(tab, body(), token=csrf).status_code)

    threads = [threading.Thread(target=send, args=tab) for tab in tabs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses) == [200, 200, 200, 201]
    assert len(stored()) == 1


def test_form_post_stores_once_and_shows_the_answer(app, clinic):
    _, browser = patient_client(app, clinic)
    with frozen(NOW):
        key = checkin_key(browser.get("/today"))
        form = {"csrf_token": token_of(browser), "key": key, "feeling": "3"}
        first = browser.post("/checkins", data=form)
        again = browser.post("/checkins", data=form)  # a reload re-posts the same form
    assert first.status_code == again.status_code == 200
    page = first.get_data(as_text=True)
    assert "Check-in sent" in page
    assert visible_guidance(page) == ["ok"]
    assert len(stored()) == 1


# -- what the patient is told ---------------------------------------------------------------

def visible_guidance(html: str) -> list[str]:
    return [block["data-guidance"] for block in
            page_html(html).select("[data-guidance]:not([hidden])")]


@pytest.mark.parametrize(
    ("feeling", "symptoms", "guidance", "shown"),
    [
        (5, [], "ok", ["ok"]),
        (3, [], "ok", ["ok"]),
        (2, [], "low", ["low"]),
        (1, [], "low", ["low"]),
        (5, ["lumps"], "contact", ["contact"]),
        (4, ["worse", "pain"], "contact", ["contact"]),
        (4, ["breathing"], "emergency", ["emergency", "contact"]),
        (1, ["fever", "breathing"], "emergency", ["emergency", "contact"]),
    ],
)
def test_red_flags_get_contact_your_clinic(app, clinic, feeling, symptoms, guidance, shown):
    _, browser = patient_client(app, clinic)
    with frozen(NOW):
        answer = post_json(browser, body(feeling=feeling, symptoms=symptoms))
        page = browser.post("/checkins", data={
            "csrf_token": token_of(browser), "key": "f" * 32, "feeling": str(feeling),
            "symptoms": symptoms,
        }).get_data(as_text=True)
    assert answer.get_json()["guidance"] == guidance
    assert sorted(visible_guidance(page)) == sorted(shown)
    if guidance in ("contact", "emergency"):
        assert "Please contact your clinic today" in page
        assert 'href="tel:+390612345678"' in page
    if guidance == "emergency":
        assert "call emergency services now" in page


def test_guidance_rule():
    """static/js/app.js (localGuidance) applies the same rule, so it works offline too."""
    assert protocol.checkin_guidance(5, {"breathing"}) == "emergency"
    assert protocol.checkin_guidance(5, {"rash"}) == "contact"
    assert protocol.checkin_guidance(2, set()) == "low"
    assert protocol.checkin_guidance(3, set()) == "ok"
    assert set(protocol.CHECKIN_FLAGS) >= protocol.CHECKIN_EMERGENCY_FLAGS


# -- dates ----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("zone", "filled_at", "local"),
    [
        ("Europe/Rome", "2026-11-21T23:30:00Z", date(2026, 11, 22)),  # after midnight in Rome
        ("America/New_York", "2026-11-22T03:30:00Z", date(2026, 11, 21)),  # still the evening
        # DST: Rome springs forward at 02:00 on 29 March; 00:30 UTC is 01:30 local, same day.
        ("Europe/Rome", "2027-03-29T00:30:00+00:00", date(2027, 3, 29)),
        ("Europe/Rome", "2027-03-28T22:30:00+00:00", date(2027, 3, 29)),  # 00:30 CEST
        ("Europe/Rome", "2027-03-28T22:59:59+00:00", date(2027, 3, 29)),
        ("Europe/Rome", "2027-03-27T22:59:59+00:00", date(2027, 3, 27)),  # 23:59:59 CET
    ],
)
def test_local_date_is_the_patients_day(app, clinic, zone, filled_at, local):
    _, browser = patient_client(app, clinic, timezone=zone)
    received = datetime.fromisoformat(filled_at) + timedelta(hours=2)
    with frozen(received):
        assert post_json(browser, body(at=filled_at)).status_code == 201
    [row] = stored()
    assert row.local_date == local
    assert row.created_at == received


def test_a_queued_check_in_keeps_the_day_it_was_filled_in(app, clinic):
    _, browser = patient_client(app, clinic)
    with frozen(NOW + timedelta(days=2)):  # sent two days later, back online
        answer = post_json(browser, body(at="2026-11-21T18:05:00+01:00"))
    assert answer.get_json()["date"] == "2026-11-21"


def test_a_phone_clock_ahead_counts_as_now(app, clinic):
    _, browser = patient_client(app, clinic)
    with frozen(NOW):  # Sat 18:00 in Rome; the phone says Sunday
        answer = post_json(browser, body(at="2026-11-22T12:00:00+01:00"))
    assert answer.status_code == 201
    assert answer.get_json()["date"] == "2026-11-21"


def test_no_time_means_now(app, clinic):
    _, browser = patient_client(app, clinic)
    with frozen(datetime(2026, 11, 21, 23, 30, tzinfo=UTC)):
        answer = post_json(browser, {"key": KEY, "feeling": "4"})
    assert answer.get_json()["date"] == "2026-11-22"


# -- bad input: a clear 400, nothing stored -------------------------------------------------

@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"feeling": None}, "feeling"),
        ({"feeling": 0}, "feeling"),
        ({"feeling": 6}, "feeling"),
        ({"feeling": "great"}, "feeling"),
        ({"feeling": True}, "feeling"),
        ({"feeling": 4.5}, "feeling"),
        ({"feeling": [4]}, "feeling"),
        ({"symptoms": ["headache"]}, "symptoms"),
        ({"symptoms": "fever,rash"}, "symptoms"),
        ({"symptoms": [1]}, "symptoms"),
        ({"symptoms": {"fever": True}}, "symptoms"),
        ({"key": None}, "key"),
        ({"key": "short"}, "key"),
        ({"key": "x" * 65}, "key"),
        ({"key": "../../etc/passwd-0000000"}, "key"),
        ({"key": 12345678901234567890}, "key"),
        ({"at": "yesterday"}, "at"),
        ({"at": "2026-11-21T18:00:00"}, "at"),  # no offset: which zone?
        ({"at": "2026-10-01T18:00:00+02:00"}, "at"),  # more than 30 days old
        ({"at": 1764000000}, "at"),
    ],
)
def test_bad_json_is_refused_with_the_field_named(app, clinic, changes, field):
    _, browser = patient_client(app, clinic)
    with frozen(NOW):
        answer = post_json(browser, body(**changes))
    assert answer.status_code == 400
    errors = answer.get_json()["errors"]
    assert list(errors) == [field]
    assert errors[field]
    assert stored() == []


@pytest.mark.parametrize("payload", ["[1, 2]", '"text"', "null", "{not json", "4"])
def test_json_that_is_not_an_object_is_refused(app, clinic, payload):
    _, browser = patient_client(app, clinic)
    answer = browser.post("/checkins", data=payload, content_type="application/json",
                          headers={"X-CSRFToken": token_of(browser)})
    assert answer.status_code == 400
    assert answer.is_json
    assert stored() == []


def test_bad_form_shows_the_error_next_to_the_question(app, clinic):
    _, browser = patient_client(app, clinic)
    answer = browser.post("/checkins", data={
        "csrf_token": token_of(browser), "key": "a" * 32, "symptoms": ["fever"],
    })
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    feeling = page[page.index('class="feeling has-error"'):page.index('class="symptoms')]
    assert "Choose how the treated area feels." in feeling
    assert 'id="feeling-error" hidden' not in feeling
    assert 'value="fever" checked' in page  # what was ticked stays ticked
    assert stored() == []


JSON_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=80),
    st.lists(st.text(max_size=12), max_size=4),
)


def test_any_json_object_is_answered_never_a_500(app, clinic):
    _, browser = patient_client(app, clinic)
    token = token_of(browser)

    @given(st.dictionaries(st.sampled_from(["key", "feeling", "symptoms", "at", "x"]), JSON_VALUES))
    @settings(max_examples=60, deadline=None)
    def check(data):
        answer = post_json(browser, data, token=token)
        assert answer.status_code in (200, 201, 400)
        assert answer.is_json

    check()


def test_check_in_needs_the_csrf_token(app, clinic):
    _, browser = patient_client(app, clinic)
    assert browser.post("/checkins", json=body()).status_code == 400
    assert browser.post("/checkins", json=body(), headers={"X-CSRFToken": "forged"}).status_code \
        == 400
    assert browser.post("/checkins", data={"key": KEY, "feeling": "4"}).status_code == 400
    assert stored() == []


def test_check_in_needs_a_patient(app, clinic):
    stranger = app.test_client()
    token = token_of(stranger, "/staff/sign-in")
    answer = stranger.post("/checkins", json=body(), headers={"X-CSRFToken": token})
    assert answer.status_code == 401
    assert stranger.get("/checkins/new").status_code == 401
    assert stored() == []


def test_a_patient_only_ever_writes_their_own(app, clinic):
    maria, browser = patient_client(app, clinic)
    lucia, _ = patient_client(app, clinic, name="Lucia Bianchi")
    with frozen(NOW):
        post_json(browser, body(patient_id=lucia.id))
    assert [row.patient_id for row in stored()] == [maria.id]


# -- the card on Today ----------------------------------------------------------------------

def test_today_asks_for_a_check_in_then_says_thanks(app, clinic):
    _, browser = patient_client(app, clinic)
    with frozen(NOW):
        page = browser.get("/today").get_data(as_text=True)
        assert 'id="checkin"' in page and "You checked in today" not in page
        for value, label in protocol.CHECKIN_FEELINGS.items():
            assert f'name="feeling" value="{value}"> <span>{label}</span>' in page
        for key, label in protocol.CHECKIN_FLAGS.items():
            assert f'name="symptoms" value="{key}"> <span>{label}</span>' in page
        post_json(browser, body())
        page = browser.get("/today").get_data(as_text=True)
    assert "You checked in today" in page
    assert "Something changed? Check in again" in page


def test_yesterdays_check_in_does_not_count_for_today(app, clinic):
    _, browser = patient_client(app, clinic)
    with frozen(NOW):
        post_json(browser, body())
    with frozen(NOW + timedelta(days=1)):
        assert "You checked in today" not in browser.get("/today").get_data(as_text=True)


def test_no_check_in_before_the_first_session(app, clinic):
    _, browser = patient_client(app, clinic)
    with frozen(SESSION - timedelta(days=2)):
        assert 'id="checkin"' not in browser.get("/today").get_data(as_text=True)


def test_check_in_page_works_without_javascript(app, clinic):
    _, browser = patient_client(app, clinic)
    page = browser.get("/checkins/new").get_data(as_text=True)
    assert page_html(page).select_one('form[method="post"][action="/checkins"]')
    assert checkin_key(page)


# -- the service ----------------------------------------------------------------------------

def test_latest_on_gives_the_days_last_check_in(app, clinic):
    patient, _ = enrol_patient(clinic, first_session=SESSION)
    for n, (day, hour) in enumerate([(21, 9), (21, 18), (22, 9)]):
        at = datetime(2026, 11, day, hour, tzinfo=UTC)
        sub = checkins.Submission(f"key-{n:016d}", 3 + n % 3, frozenset(), at)
        checkins.record(patient, sub, at)
    db.session.commit()
    assert checkins.latest_on(patient.id, date(2026, 11, 21)).feeling == 4
    assert checkins.latest_on(patient.id, date(2026, 11, 23)) is None


def test_check_ins_go_with_the_patient(app, clinic):
    patient, browser = patient_client(app, clinic)
    with frozen(NOW):
        post_json(browser, body())
    db.session.rollback()
    db.session.execute(sa.delete(Patient).where(Patient.id == patient.id))
    db.session.commit()
    assert stored() == []


def test_a_twin_that_wins_the_race_is_the_answer(app, clinic, monkeypatch):
    """The insert hits the unique key (a twin request committed first): answer with the twin."""
    patient, _ = enrol_patient(clinic, first_session=SESSION)
    twin = CheckIn(patient_id=patient.id, local_date=date(2026, 11, 21), feeling=2,
                   idempotency_key=KEY, created_at=NOW)
    db.session.add(twin)
    db.session.commit()
    real = checkins._by_key
    calls = []

    def missed_first(patient_id, key):  # the twin is not visible yet at the first look
        calls.append(key)
        return None if len(calls) == 1 else real(patient_id, key)

    monkeypatch.setattr(checkins, "_by_key", missed_first)
    row, created = checkins.record(patient, checkins.Submission(KEY, 5, frozenset(), NOW), NOW)
    db.session.commit()
    assert (row.id, row.feeling, created) == (twin.id, 2, False)
    assert len(calls) == 2
    assert len(stored()) == 1


def test_a_queued_check_in_of_another_patient_is_never_stored(app, clinic):
    """A shared phone: patient A's queued check-in, sent after B opened their link, is refused."""
    with frozen(datetime(2026, 11, 21, 17, 0, tzinfo=UTC)):
        anna, anna_phone = patient_client(app, clinic, name="Anna Verdi")
        bruno, shared_phone = patient_client(app, clinic, name="Bruno Neri")
        anna_owner = owner_of(anna_phone.get("/today"))
        bruno_owner = owner_of(shared_phone.get("/today"))
        assert anna_owner != bruno_owner
        assert str(anna.id) not in (anna_owner, bruno_owner)
        refused = post_json(shared_phone, body(owner=anna_owner))
        assert refused.status_code == 400
        assert "owner" in refused.get_json()["errors"]
        assert stored() == []
        accepted = post_json(shared_phone, body(owner=bruno_owner))
        assert accepted.status_code == 201
        assert [c.patient_id for c in stored()] == [bruno.id]
