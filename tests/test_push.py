"""Web Push: keys, one send against the fake push service, and the patient's push routes."""

from __future__ import annotations

import os
import stat
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from conftest import create_clinic, csrf_token, enrol_patient
from fakepush import FakePushService

from meso import push
from meso.extensions import db
from meso.models import PatientDevice, PushSubscription, Reminder, ReminderSettings

SUBJECT = "mailto:ops@clinic.example"


def message(**overrides) -> push.Message:
    fields = {"payload": {"title": "Hi", "body": "Body", "url": "/today", "tag": "heat_day1"},
              "ttl": 3600, "topic": "heat_day1", "urgency": "normal"}
    return push.Message(**{**fields, **overrides})


def subscription(client) -> push.Subscription:
    keys = client.json["keys"]
    return push.Subscription(client.endpoint, keys["p256dh"], keys["auth"])


@pytest.fixture
def pusher(app, vapid):
    return push.Pusher(app.config["VAPID_PRIVATE_KEY"], SUBJECT, timeout=(1, 1))


# -- one send, each outcome ------------------------------------------------------------------


def test_a_sent_message_decrypts_with_the_subscriptions_keys(pusher, fake_push, vapid):
    client = fake_push.subscription()
    outcome = pusher.send(subscription(client), message(ttl=5400, urgency="high"))
    assert outcome == push.Outcome(push.SENT, 201)
    [got] = fake_push.messages()
    assert got.payload == message().payload
    assert (got.ttl, got.urgency, got.topic) == (5400, "high", "heat_day1")
    assert got.vapid_key == vapid and got.claims["sub"] == SUBJECT


def test_each_send_signs_fresh_claims_for_its_own_push_service(pusher, vapid):
    """webpush() writes "aud" into the claims: reused claims would carry the first audience."""
    with FakePushService(vapid) as one, FakePushService(vapid) as two:
        for service in (one, two, one):
            assert pusher.send(subscription(service.subscription()), message()).kind == push.SENT
        assert len(one.messages()) == 2 and len(two.messages()) == 1
        assert one.errors == two.errors == []


@pytest.mark.parametrize(
    ("status", "headers", "kind", "retry_after"),
    [
        (404, {}, push.GONE, None),
        (410, {}, push.GONE, None),
        (429, {"Retry-After": "120"}, push.RETRY, 120.0),
        (429, {}, push.RETRY, None),
        (500, {}, push.RETRY, None),
        (503, {"Retry-After": "7"}, push.RETRY, 7.0),
        (400, {}, push.FAILED, None),
        (413, {}, push.FAILED, None),
    ],
)
def test_push_service_answers_map_to_outcomes(pusher, fake_push, status, headers, kind,
                                              retry_after):
    client = fake_push.subscription()
    fake_push.answer(client, status, **headers)
    outcome = pusher.send(subscription(client), message())
    assert (outcome.kind, outcome.status, outcome.retry_after) == (kind, status, retry_after)
    assert outcome.error.startswith(f"HTTP {status}")
    assert "Body" not in outcome.error, "no payload in errors"


def test_a_hung_push_service_times_out_and_is_retried(pusher, fake_push):
    client = fake_push.subscription()
    fake_push.hang(client)
    outcome = pusher.send(subscription(client), message())
    assert (outcome.kind, outcome.error) == (push.RETRY, "timed out")


def test_an_unreachable_push_service_is_retried(pusher):
    with FakePushService() as gone:
        endpoint = gone.subscription()
    outcome = pusher.send(subscription(endpoint), message())
    assert outcome.kind == push.RETRY and outcome.error.startswith("network")


def test_bad_topic_or_urgency_never_leaves(pusher, fake_push):
    client = fake_push.subscription()
    assert pusher.send(subscription(client), message(topic="no spaces")).kind == push.FAILED
    assert pusher.send(subscription(client), message(urgency="now!")).kind == push.FAILED
    assert fake_push.messages(status=None) == []


def test_retry_after_can_be_an_http_date():
    now = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    assert push.parse_retry_after("Fri, 20 Nov 2026 10:02:00 GMT", now) == 120.0
    assert push.parse_retry_after("soon", now) is None
    assert push.parse_retry_after(None, now) is None


def test_each_thread_has_its_own_http_session(pusher):
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(pusher._session())) for _ in range(2)]
    for thread in threads:
        thread.start()
        thread.join()
    assert seen[0] is not seen[1]
    assert pusher._session() is pusher._session()


# -- keys and configuration ------------------------------------------------------------------


def test_keys_generated_load_back_in_every_format():
    raw = push.generate_private_key()
    vapid = push.load_key(raw)
    public = push.public_key(vapid)
    assert len(push.b64url_decode(public)) == 65 and public[0] == "B"  # 0x04: uncompressed
    pem = vapid.private_pem().decode()
    assert push.public_key(push.load_key(pem)) == public
    for bad in ("", "not-a-key", "AAAA"):
        with pytest.raises(push.PushConfigError):
            push.load_key(bad)


def test_the_instance_key_is_created_once_and_private(tmp_path):
    key, created = push.ensure_instance_key(tmp_path / "instance")
    again, created_again = push.ensure_instance_key(tmp_path / "instance")
    assert created and not created_again and key == again
    mode = stat.S_IMODE(os.stat(tmp_path / "instance" / push.KEY_FILE).st_mode)
    assert mode == 0o600


@pytest.mark.parametrize("subject", ["mailto:ops@clinic.example", "https://clinic.example"])
def test_a_vapid_subject_is_a_mailto_or_https_address(subject):
    assert push.check_subject(subject) == subject


@pytest.mark.parametrize(("subject", "says"), [
    ("", "VAPID_SUBJECT is not set"), ("ops@clinic.example", "mailto: or https:"),
    ("http://clinic.example", "mailto: or https:"),
])
def test_a_missing_or_bad_subject_says_what_to_set(subject, says):
    with pytest.raises(push.PushConfigError, match=says):
        push.check_subject(subject)


def test_init_creates_the_vapid_key_in_instance(app, runner, monkeypatch):
    monkeypatch.setattr("meso.cli.upgrade", lambda: None)  # the schema is test_cli's business
    app.config["VAPID_PRIVATE_KEY"] = ""
    result = runner.invoke(args=["init"])
    assert result.exit_code == 0, result.output
    assert "VAPID key pair created" in result.output
    path = os.path.join(app.instance_path, push.KEY_FILE)
    with open(path) as handle:
        assert app.config["VAPID_PRIVATE_KEY"] == handle.read().strip()
    second = runner.invoke(args=["init"])
    assert second.exit_code == 0 and "VAPID" not in second.output


# -- subscriptions, as the browser sends them ------------------------------------------------


def good(fake_push, **keys) -> dict:
    data = fake_push.subscription().json
    data["keys"].update(keys)
    return data


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.pop("endpoint"), "endpoint"),
        (lambda d: d.pop("keys"), "keys"),
        (lambda d: d["keys"].pop("p256dh"), "keys.p256dh"),
        (lambda d: d["keys"].pop("auth"), "keys.auth"),
        (lambda d: d["keys"].update(p256dh="not base64!"), "keys.p256dh"),
        (lambda d: d["keys"].update(p256dh="AAAA"), "keys.p256dh"),
        (lambda d: d["keys"].update(p256dh="B" + "A" * 86), "keys.p256dh"),  # not on the curve
        (lambda d: d["keys"].update(auth="c2hvcnQ"), "keys.auth"),  # 5 bytes
        (lambda d: d["keys"].update(auth="%%%%"), "keys.auth"),
        (lambda d: d.update(endpoint="ftp://push.example/x"), "endpoint"),
        (lambda d: d.update(endpoint="https://push.example/" + "x" * 1000), "endpoint"),
        (lambda d: d.update(endpoint=42), "endpoint"),
    ],
)
def test_malformed_subscriptions_are_refused(fake_push, change, field):
    data = fake_push.subscription().json
    change(data)
    with pytest.raises(push.InvalidSubscription) as refused:
        push.parse_subscription(data, allow_insecure=True)
    assert refused.value.field == field


@pytest.mark.parametrize("endpoint", [
    "http://push.example.com/x", "https://127.0.0.1/x", "https://[::1]/x",
    "https://localhost/x", "https://intranet/x", "https://user:pw@push.example.com/x",
    "https://db.internal/x",
])
def test_outside_debug_only_https_push_service_hosts_are_accepted(fake_push, endpoint):
    data = good(fake_push)
    data["endpoint"] = endpoint
    with pytest.raises(push.InvalidSubscription):
        push.parse_subscription(data, allow_insecure=False)
    data["endpoint"] = "https://fcm.googleapis.com/fcm/send/abc:def"
    assert push.parse_subscription(data).endpoint == data["endpoint"]


# -- the routes ------------------------------------------------------------------------------


@pytest.fixture
def patient_client(app, client, vapid):
    """A patient who opened their link in `client`; returns (patient, client, csrf token)."""
    clinic = create_clinic()
    patient, token = enrol_patient(clinic, first_session=datetime.now(UTC) - timedelta(hours=3))
    assert client.get(f"/i/{token}").status_code == 303
    return patient, client, csrf_token(client, "/today")


def post(client, token, data, url="/push/subscriptions", method="post"):
    return getattr(client, method)(url, json=data, headers={"X-CSRFToken": token})


def stored() -> list[PushSubscription]:
    db.session.expire_all()
    return db.session.scalars(sa.select(PushSubscription).order_by(PushSubscription.id)).all()


def test_the_public_key_is_served_to_browsers(client, vapid):
    response = client.get("/push/key")
    assert response.status_code == 200
    assert response.json["publicKey"] == vapid and response.json["csrfToken"]


def test_without_a_key_the_server_says_reminders_are_not_set_up(app, client):
    app.config["VAPID_PRIVATE_KEY"] = ""
    response = client.get("/push/key")
    assert response.status_code == 503 and "not set up" in response.json["error"]


def test_subscribing_stores_the_subscription_once_per_endpoint(patient_client, fake_push):
    patient, client, token = patient_client
    data = good(fake_push)
    response = post(client, token, data)
    assert response.status_code == 201 and response.json == {"ok": True, "devices": 1}
    [row] = stored()
    assert (row.patient_id, row.endpoint) == (patient.id, data["endpoint"])
    assert row.device_id == db.session.scalar(sa.select(PatientDevice.id))
    # The same browser again (new keys after a reinstall): updated, not duplicated.
    data["keys"] = fake_push.subscription().json["keys"]
    assert post(client, token, data).status_code == 200
    [row] = stored()
    assert row.p256dh == data["keys"]["p256dh"]
    # A second device of the same patient.
    assert post(client, token, good(fake_push)).json["devices"] == 2


def test_bad_subscriptions_get_a_json_400_and_nothing_is_stored(patient_client, fake_push, app):
    _, client, token = patient_client
    no_auth = good(fake_push)
    del no_auth["keys"]["auth"]
    response = post(client, token, no_auth)
    assert response.status_code == 400
    assert response.json == {"error": "keys.auth is missing", "field": "keys.auth"}
    assert post(client, token, good(fake_push, p256dh="!!")).json["field"] == "keys.p256dh"
    long = good(fake_push)
    long["endpoint"] += "x" * 1000
    assert post(client, token, long).json["field"] == "endpoint"
    assert client.post("/push/subscriptions", data="{", headers={
        "X-CSRFToken": token, "Content-Type": "application/json"}).status_code == 400
    app.config["PUSH_ALLOW_INSECURE_ENDPOINTS"] = False  # production: http is refused
    response = post(client, token, good(fake_push))
    assert response.status_code == 400 and response.json["field"] == "endpoint"
    assert stored() == []


def test_subscribing_needs_the_csrf_token_and_the_patients_device(patient_client, app,
                                                                  fake_push):
    _, client, token = patient_client
    response = client.post("/push/subscriptions", json=good(fake_push))
    assert response.status_code == 400 and "error" in response.json
    data = good(fake_push)
    post(client, token, data)
    response = client.delete("/push/subscriptions", json={"endpoint": data["endpoint"]})
    assert response.status_code == 400 and len(stored()) == 1
    assert client.post("/push/test").status_code == 400
    forget = post(client, token, {"endpoint": data["endpoint"]}, method="delete")
    assert forget.status_code == 204
    stranger = app.test_client()
    response = post(stranger, token, good(fake_push))
    assert response.status_code in (400, 401) and "error" in response.json
    assert stored() == []


def test_an_endpoint_moves_to_whoever_subscribed_last(patient_client, app, fake_push):
    first, client, token = patient_client
    data = good(fake_push)
    post(client, token, data)
    other, other_token = enrol_patient(create_clinic("Other"), name="Paola Verdi")
    phone = app.test_client()
    phone.get(f"/i/{other_token}")
    assert post(phone, csrf_token(phone, "/today"), data).status_code == 200
    [row] = stored()
    assert row.patient_id == other.id


def test_unsubscribing_deletes_only_the_patients_own_subscription(patient_client, app,
                                                                  fake_push):
    _, client, token = patient_client
    mine, theirs = good(fake_push), good(fake_push)
    post(client, token, mine)
    _, other_token = enrol_patient(create_clinic("Other"), name="Paola Verdi")
    phone = app.test_client()
    phone.get(f"/i/{other_token}")
    post(phone, csrf_token(phone, "/today"), theirs)
    response = post(client, token, {"endpoint": theirs["endpoint"]}, method="delete")
    assert response.status_code == 204 and len(stored()) == 2
    post(client, token, {"endpoint": mine["endpoint"]}, method="delete")
    assert [row.endpoint for row in stored()] == [theirs["endpoint"]]
    assert post(client, token, {}, method="delete").status_code == 400


def test_a_test_notification_reaches_every_device_and_prunes_dead_ones(patient_client,
                                                                       fake_push):
    _, client, token = patient_client
    alive, dead = fake_push.subscription(), fake_push.subscription()
    post(client, token, alive.json)
    post(client, token, dead.json)
    fake_push.answer(dead, 410)
    response = client.post("/push/test", headers={"X-CSRFToken": token})
    assert response.status_code == 200 and response.json == {"sent": 1, "failed": 1}
    [got] = fake_push.messages(alive.name)
    assert got.payload["title"] == "Reminders work" and got.payload["url"] == "/reminders"
    assert [row.endpoint for row in stored()] == [alive.endpoint]
    assert stored()[0].last_success_at is not None


def test_a_test_notification_without_a_device_says_so(patient_client):
    _, client, token = patient_client
    response = client.post("/push/test", headers={"X-CSRFToken": token})
    assert response.status_code == 409 and "no device" in response.json["error"]


def test_a_revoked_device_gets_no_reminders(patient_client, fake_push):
    _, client, token = patient_client
    post(client, token, good(fake_push))
    db.session.execute(sa.update(PatientDevice).values(revoked_at=datetime.now(UTC)))
    db.session.commit()
    assert client.post("/push/test", headers={"X-CSRFToken": token}).status_code == 401
    assert fake_push.messages(status=None) == []


def test_a_new_subscription_receives_what_is_still_useful(patient_client, fake_push):
    """Reminders skipped for want of a device go out once the patient turns reminders on."""
    patient, client, token = patient_client
    db.session.execute(sa.update(Reminder).values(status="skipped", last_error="no device"))
    db.session.commit()
    post(client, token, good(fake_push))
    db.session.expire_all()
    rows = db.session.scalars(sa.select(Reminder)).all()
    assert rows and all(r.status == "pending" for r in rows if r.expires_at > datetime.now(UTC))


# -- the settings page -----------------------------------------------------------------------


def form(token, **changes) -> dict:
    data = {"csrf_token": token, "sun": "y", "heat": "y", "exfoliants": "y", "sessions": "y",
            "checkins": "y", "morning": "09:00", "quiet_start": "21:00", "quiet_end": "08:00"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_the_settings_page_shows_the_clinic_defaults_and_the_card(patient_client):
    _, client, _ = patient_client
    page = client.get("/reminders")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'id="reminders"' in html and 'data-action="enable"' in html
    assert 'value="09:00"' in html and 'value="21:00"' in html and 'value="08:00"' in html
    assert "reminders.js" in html and "Add to Home Screen" in html


def test_saving_settings_re_plans_the_pending_reminders(patient_client):
    patient, client, token = patient_client
    pending = {r.rule for r in db.session.scalars(sa.select(Reminder).where(
        Reminder.status == "pending"))}
    assert "sun_day1" in pending
    response = client.post("/reminders", data=form(token, sun=None, discreet="y"))
    assert response.status_code == 303 and response.location == "/reminders"
    db.session.expire_all()
    row = db.session.get(ReminderSettings, patient.id)
    assert (row.sun, row.heat, row.discreet) == (False, True, True)
    status = {r.rule: r.status for r in db.session.scalars(sa.select(Reminder))}
    assert status["sun_day1"] == "cancelled" and status["heat_day1"] == "pending"
    assert "Saved" in client.get("/reminders").get_data(as_text=True)


@pytest.mark.parametrize(("changes", "field", "says"), [
    ({"quiet_end": "21:00"}, "quiet_end", "different times"),
    ({"quiet_start": "18:00", "quiet_end": "10:00"}, "quiet_end", "at most 14 hours"),
    ({"morning": "07:00"}, "morning", "outside your quiet hours"),
    ({"morning": "25:00"}, "morning", "Not a valid time"),
    ({"quiet_start": ""}, "quiet_start", "Enter a time"),
])
def test_bad_settings_are_explained_next_to_the_field_and_nothing_is_saved(
        patient_client, changes, field, says):
    patient, client, token = patient_client
    response = client.post("/reminders", data=form(token, **changes))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f'id="{field}-error"' in html and says in html
    assert db.session.get(ReminderSettings, patient.id) is None


def test_today_offers_to_turn_on_reminders(patient_client):
    _, client, _ = patient_client
    html = client.get("/today").get_data(as_text=True)
    assert "Turn on reminders" in html and 'href="/reminders"' in html
