"""Daily check-ins through the test client: stored exactly once, red flags answered, bad input."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from conftest import create_clinic, create_staff, enrol_patient, open_invite
from helpers import csrf_meta, frozen, page_html, text_of
from hypothesis import given, settings
from hypothesis import strategies as st

from meso import attention, checkins, protocol
from meso.advice import advise
from meso.config import ConfigError, emergency_number
from meso.extensions import db
from meso.models import CheckIn, OutboundEmail, Patient

pytestmark = pytest.mark.usefixtures("client")  # makes app.test_client() an IsolatedClient

SESSION = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # Fri 10:00 in Rome
NOW = datetime(2026, 11, 21, 17, 0, tzinfo=UTC)  # Sat 18:00 in Rome, day 1
KEY = "0f8fad5b-d9cb-469f-a165-70867728950e"
RULES = {rule.key: rule for rule in protocol.ADVICE_RULES}


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
        "signs": {}, "trend": None, "advice": "call_clinic",
        "reasons": ["You noticed a warning sign: your clinic wants to hear about it today."],
        "guidance": "contact", "no_flags": False,
    }
    [row] = stored()
    assert (row.patient_id, row.local_date, row.feeling, row.symptoms) == (
        patient.id, date(2026, 11, 21), 4, "fever")
    assert (row.signs, row.trend, row.advice) == ({}, None, "call_clinic")
    assert row.created_at == NOW


def test_signs_and_trend_are_stored_and_answered(app, clinic):
    _, browser = patient_client(app, clinic)
    with frozen(NOW):  # day 1
        first = post_json(browser, body(signs={"redness": "moderate", "bumps": "mild"},
                                        trend="same"))
        again = post_json(browser, body(signs={"redness": "moderate", "bumps": "mild"},
                                        trend="same"))
    assert (first.status_code, again.status_code) == (201, 200)
    answer = first.get_json()
    assert answer == again.get_json()
    full = {"redness": "moderate", "swelling": "none", "tenderness": "none", "bumps": "mild",
            "bruising": "none"}
    assert (answer["signs"], answer["trend"], answer["advice"]) == (full, "same", "watch")
    assert answer["guidance"] == "low"  # what an older page's script shows for "watch"
    # The reasons of the advice given: not "normal in the first day or two" beside it.
    assert answer["reasons"] == [RULES["bumps_staying"].reason]
    [row] = stored()
    assert (row.signs, row.trend, row.advice) == (full, "same", "watch")


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
    assert "Your check-in was sent to your clinic." in page
    assert shown_advice(page) == ("expected", ["expected"])
    assert shown_advice(again.get_data(as_text=True)) == ("expected", ["expected"])
    [row] = stored()
    assert (row.signs, row.trend) == ({}, None)  # a form from before signs were asked


def test_form_post_with_signs_and_trend(app, clinic):
    _, browser = patient_client(app, clinic)
    with frozen(NOW):
        key = checkin_key(browser.get("/today"))
        form = {"csrf_token": token_of(browser), "key": key, "feeling": "4",
                "sign_redness": "mild", "sign_swelling": "none", "sign_tenderness": "mild",
                "sign_bumps": "none", "sign_bruising": "none", "trend": "better"}
        first = browser.post("/checkins", data=form)
        again = browser.post("/checkins", data=form)
    assert first.status_code == again.status_code == 200
    assert shown_advice(first.get_data(as_text=True)) == ("expected", ["expected"])
    [row] = stored()
    assert row.signs == {"redness": "mild", "swelling": "none", "tenderness": "mild",
                         "bumps": "none", "bruising": "none"}
    assert (row.trend, row.advice) == ("better", "expected")


# -- what the patient is told ---------------------------------------------------------------

def shown_advice(html: str) -> tuple[str, list[str]]:
    """The answer's advice level (#advice data-advice) and the level blocks shown."""
    page = page_html(html)
    answer = page.select_one("#advice")
    shown = [block["data-advice-block"] for block in
             answer.select("[data-advice-block]:not([hidden])")]
    return answer["data-advice"], shown


def send_both_ways(browser, at, **answers):
    """Send the same answers as JSON and as a form; return (JSON answer, result page)."""
    signs = answers.get("signs", {})
    with frozen(at):
        answer = post_json(browser, body(at=None, **answers))
        form = {"csrf_token": token_of(browser), "key": "f" * 32,
                "feeling": str(answers.get("feeling", 4)), "symptoms": answers.get("symptoms", []),
                "trend": answers.get("trend") or ""}
        form |= {f"sign_{key}": level for key, level in signs.items()}
        page = browser.post("/checkins", data=form)
    assert (answer.status_code, page.status_code) == (201, 200)
    return answer.get_json(), page.get_data(as_text=True)


def at_day(day: int, hour: int = 17) -> datetime:
    """An instant on local day ``day`` after the first session (Fri 20 Nov, Rome)."""
    return SESSION.replace(hour=hour) + timedelta(days=day)


# (what, day, feeling, signs, trend, red flags, advice, the old "guidance" for older pages)
BY_DAY = [
    ("fine on day 1", 1, 5, {}, None, [], "expected", "ok"),
    ("sore on day 1", 1, 2, {"redness": "moderate", "swelling": "mild"}, "same", [],
     "expected", "ok"),
    ("lingering on day 5", 5, 4, {"redness": "mild"}, "better", [], "watch", "low"),
    ("bad on day 10", 10, 1, {}, "same", [], "watch", "low"),
    ("not good on day 10", 10, 2, {}, None, [], "watch", "low"),
    ("swelling worse on day 3", 3, 3, {"swelling": "mild"}, "worse", [], "call_clinic",
     "contact"),
    ("day 3, swelling worse, fever", 3, 2, {"swelling": "moderate"}, "worse", ["fever"],
     "call_clinic", "contact"),
    ("a cold sore", 2, 4, {}, None, ["cold_sore"], "call_clinic", "contact"),
    ("skin turning grey", 0, 4, {}, None, ["colour_change"], "call_clinic", "contact"),
    ("trouble breathing", 0, 4, {}, None, ["breathing"], "emergency", "emergency"),
    ("everything", 3, 1, {"redness": "strong"}, "worse", ["fever", "breathing"], "emergency",
     "emergency"),
]


@pytest.mark.parametrize(("what", "day", "feeling", "signs", "trend", "flags", "advice",
                          "guidance"), BY_DAY, ids=[row[0] for row in BY_DAY])
def test_the_answer_by_day(app, clinic, what, day, feeling, signs, trend, flags, advice,
                           guidance):
    _, browser = patient_client(app, clinic)
    answer, page = send_both_ways(browser, at_day(day), feeling=feeling, signs=signs,
                                  trend=trend, symptoms=flags)
    assert (answer["advice"], answer["guidance"]) == (advice, guidance)
    assert answer["reasons"] and all(isinstance(r, str) and r for r in answer["reasons"])
    assert shown_advice(page) == (advice, [advice])
    html = page_html(page)
    answer_text = text_of(html.select_one("#advice"))
    for reason in answer["reasons"]:
        assert reason in answer_text
    assert protocol.NOT_READ_AT_ONCE in answer_text  # whatever the advice
    call = html.select_one("#call-clinic")
    assert (call is not None) == (advice == "call_clinic")
    if advice == "call_clinic":
        assert call["href"] == "tel:+390612345678"
        assert "Call your clinic today" in answer_text
    emergency = html.select_one("#call-emergency")
    assert (emergency is not None) == (advice == "emergency")
    if advice == "emergency":
        assert emergency["href"] == "tel:112"
    [json_row, form_row] = stored()
    assert json_row.advice == form_row.advice == advice


def test_day_3_swelling_worse_with_a_fever_is_told_to_call_the_clinic_today(app, clinic):
    """Issue 10's "done when", through the web: the answer, and the tap-to-call button."""
    _, browser = patient_client(app, clinic)
    answer, page = send_both_ways(browser, at_day(3), feeling=2, signs={"swelling": "moderate"},
                                  trend="worse", symptoms=["fever"])
    assert answer["advice"] == "call_clinic"
    html = page_html(page)
    button = html.select_one("a#call-clinic.button")
    assert button["href"] == "tel:+390612345678"
    assert text_of(button) == "Call Clinica Roma · +39 06 1234 5678"
    assert text_of(html.select_one("h1")) == "Call your clinic today"


def test_an_emergency_is_shown_before_anything_else(app, clinic):
    _, browser = patient_client(app, clinic)
    _, page = send_both_ways(browser, at_day(1), feeling=3, symptoms=["breathing", "fever"])
    main = page_html(page).select_one("main")
    assert text_of(main.select_one("h1")) == "Call emergency services now"
    # In document order, only the button's own containers and its title come before it.
    order = main.find_all(True)
    emergency = main.select_one("#call-emergency")
    before = [tag for tag in order[:order.index(emergency)] if emergency not in tag.descendants]
    assert [tag.name for tag in before] == ["h1"]


def test_the_emergency_number_is_the_configured_one(app, clinic):
    app.config["MESO_EMERGENCY_NUMBER"] = "999"
    _, browser = patient_client(app, clinic)
    _, page = send_both_ways(browser, at_day(1), feeling=3, symptoms=["breathing"])
    button = page_html(page).select_one("#call-emergency")
    assert (button["href"], text_of(button)) == ("tel:999", "Call 999")


@pytest.mark.parametrize("value", ["11 2", "+112", "1", "1234567", "abc", "\uff11\uff11\uff12"])
def test_a_bad_emergency_number_stops_the_start(value):
    with pytest.raises(ConfigError, match="MESO_EMERGENCY_NUMBER"):
        emergency_number(value)
    assert emergency_number("") == "112"
    assert emergency_number(" 911 ") == "911"


def test_a_clinic_without_a_phone_is_still_to_be_contacted(app):
    clinic = create_clinic(phone="")
    _, browser = patient_client(app, clinic)
    _, page = send_both_ways(browser, at_day(3), feeling=3, symptoms=["fever"])
    html = page_html(page)
    assert html.select_one("#call-clinic") is None
    assert protocol.CALL_CLINIC_NO_PHONE in text_of(html.select_one("#advice"))


def test_red_flags_offline_match_the_rules():
    """static/js/checkins.js (localAdvice) answers red flags before the server does, on any
    day: any flag is at least call_clinic, an emergency flag is an emergency."""
    for area in protocol.AREAS:
        for day in (-3, 0, 1, 3, 10, 60):
            for flag in protocol.CHECKIN_FLAGS:
                told = advise(area, day, 5, {}, "better", [flag]).advice
                local = "emergency" if flag in protocol.CHECKIN_EMERGENCY_FLAGS else "call_clinic"
                assert told == local, (area, day, flag)
    assert set(protocol.CHECKIN_FLAGS) >= protocol.CHECKIN_EMERGENCY_FLAGS


def test_only_a_new_alert_reaches_the_clinic(app, clinic, monkeypatch):
    """attention.checkin_needs_attention hears of each new call_clinic / emergency check-in,
    once: not of a repeat, not of an expected answer."""
    heard = []
    monkeypatch.setattr(attention, "checkin_needs_attention",
                        lambda checkin, now: heard.append((checkin.advice, now)))
    _, browser = patient_client(app, clinic)
    with frozen(NOW):
        post_json(browser, body(key="a" * 32))
        post_json(browser, body(key="b" * 32, symptoms=["fever"]))
        post_json(browser, body(key="b" * 32, symptoms=["fever"]))
        post_json(browser, body(key="c" * 32, symptoms=["breathing"]))
    assert heard == [("call_clinic", NOW), ("emergency", NOW)]


def test_an_alert_through_the_web_queues_the_admins_e_mail_once(app, clinic):
    """The whole hook, unpatched: with SMTP_URL set, a call_clinic check-in queues one e-mail
    per admin; its repeat and an expected check-in queue nothing."""
    app.config["SMTP_URL"] = "smtp://127.0.0.1:1"  # queued only: no worker runs here
    create_staff(clinic, email="giulia.admin@clinic.example", role="admin")
    _, browser = patient_client(app, clinic)
    with frozen(NOW):
        post_json(browser, body(key="a" * 32))
        post_json(browser, body(key="b" * 32, symptoms=["fever"]))
        post_json(browser, body(key="b" * 32, symptoms=["fever"]))
    db.session.rollback()
    queued = db.session.scalars(sa.select(OutboundEmail)).all()
    assert [mail.to_address for mail in queued] == ["giulia.admin@clinic.example"]
    assert "Maria" not in queued[0].body and "fever" not in queued[0].body.lower()


def test_the_reasons_stay_with_the_day_the_check_in_was_filled_in(app, clinic):
    """A check-in queued on day 3 and sent on day 12 is answered for day 3."""
    _, browser = patient_client(app, clinic)
    filled = at_day(3).isoformat()
    with frozen(at_day(12)):
        answer = post_json(browser, body(at=filled, signs={"swelling": "moderate"}))
        again = post_json(browser, body(at=filled, signs={"swelling": "moderate"}))
    assert answer.get_json()["advice"] == "watch"  # day 3: should be fading; day 12: call
    assert answer.get_json() == again.get_json()
    [row] = stored()
    assert checkins.reasons(row) == tuple(answer.get_json()["reasons"])


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
        ({"key": "k3y-0f8f"}, "key"),
        ({"key": "x" * 65}, "key"),
        ({"key": "../../etc/passwd-0000000"}, "key"),
        ({"key": 12345678901234567890}, "key"),
        ({"at": "yesterday"}, "at"),
        ({"at": "2026-11-21T18:00:00"}, "at"),  # no offset: which zone?
        ({"at": "2026-10-01T18:00:00+02:00"}, "at"),  # more than 30 days old
        ({"at": 1764000000}, "at"),
        ({"signs": {"itching": "mild"}}, "signs"),
        ({"signs": {"redness": "severe"}}, "signs"),
        ({"signs": {"redness": "Mild"}}, "signs"),
        ({"signs": {"redness": 2}}, "signs"),
        ({"signs": {"redness": None}}, "signs"),
        ({"signs": ["redness"]}, "signs"),
        ({"signs": "mild"}, "signs"),
        ({"signs": 3}, "signs"),
        ({"trend": "up"}, "trend"),
        ({"trend": "Worse"}, "trend"),
        ({"trend": 1}, "trend"),
        ({"trend": ["worse"]}, "trend"),
        ({"trend": {"worse": True}}, "trend"),
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


def test_a_bad_sign_or_trend_in_a_form_is_named_next_to_its_question(app, clinic):
    _, browser = patient_client(app, clinic)
    answer = browser.post("/checkins", data={
        "csrf_token": token_of(browser), "key": "a" * 32, "feeling": "3",
        "sign_redness": "huge", "sign_swelling": "moderate", "trend": "sideways",
    })
    assert answer.status_code == 400
    html = page_html(answer)
    signs = html.select_one("fieldset.signs.has-error")
    assert text_of(signs.select_one("p.error")) == \
        "Choose None, Mild, Moderate or Strong for each sign."
    trend = html.select_one("fieldset.trend.has-error")
    assert text_of(trend.select_one("p.error")) == "Choose Better, The same or Worse."
    # What was chosen stays chosen; a level never offered falls back to "None".
    assert html.select_one('input[name="sign_swelling"][value="moderate"]').has_attr("checked")
    assert html.select_one('input[name="sign_redness"][value="none"]').has_attr("checked")
    assert html.select_one('input[name="feeling"][value="3"]').has_attr("checked")
    assert stored() == []


def test_an_unknown_sign_in_a_form_is_refused(app, clinic):
    _, browser = patient_client(app, clinic)
    answer = browser.post("/checkins", data={
        "csrf_token": token_of(browser), "key": "a" * 32, "feeling": "3",
        "sign_itching": "mild",
    })
    assert answer.status_code == 400
    assert page_html(answer).select_one("fieldset.signs.has-error") is not None
    assert stored() == []


JSON_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=80),
    st.lists(st.text(max_size=12), max_size=4),
)


def test_any_json_object_is_answered_never_a_500(app, clinic):
    _, browser = patient_client(app, clinic)
    token = token_of(browser)

    values = st.one_of(JSON_VALUES, st.dictionaries(
        st.sampled_from([*protocol.CHECKIN_SIGNS, "x"]),
        st.one_of(st.sampled_from(list(protocol.SIGN_LEVELS)), JSON_VALUES), max_size=6))

    @given(st.dictionaries(st.sampled_from(["key", "feeling", "symptoms", "signs", "trend", "at",
                                            "x"]), values))
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
        feelings = page_html(page).select('#checkin input[name="feeling"]')
        assert [(r["value"], text_of(r.parent)) for r in feelings] == [
            (str(value), label) for value, label in protocol.CHECKIN_FEELINGS.items()]
        for key, label in protocol.CHECKIN_FLAGS.items():
            assert f'name="symptoms" value="{key}"> <span>{label}</span>' in page
        form = page_html(page).select_one("#checkin form.checkin-form")
        signs = form.select("fieldset.signs fieldset.sign")
        assert [text_of(sign.legend) for sign in signs] == list(protocol.CHECKIN_SIGNS.values())
        for sign, key in zip(signs, protocol.CHECKIN_SIGNS, strict=True):
            radios = sign.select(f'label > input[type="radio"][name="sign_{key}"]')
            assert [r["value"] for r in radios] == list(protocol.SIGN_LEVELS)
            assert [r["value"] for r in radios if r.has_attr("checked")] == ["none"]
            assert [text_of(r.parent) for r in radios] == list(protocol.SIGN_LEVELS.values())
        trend = form.select('fieldset.trend input[type="radio"][name="trend"]')
        assert [r["value"] for r in trend] == list(protocol.CHECKIN_TRENDS)
        assert not any(r.has_attr("checked") for r in trend)
        assert len(form.select('input[name="symptoms"]')) == len(protocol.CHECKIN_FLAGS)
        # The answer's place: every level hidden until the script shows the server's answer.
        answer = page_html(page).select_one("#checkin .checkin-result[hidden] #advice")
        assert answer["data-advice"] == ""
        assert sorted(b["data-advice-block"] for b in answer.select("[data-advice-block][hidden]")
                      ) == sorted(protocol.ADVICE_LEVELS)
        assert answer.select_one("#call-clinic")["href"] == "tel:+390612345678"
        assert answer.select_one("#call-emergency")["href"] == "tel:112"
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
