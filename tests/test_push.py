"""Web Push: keys, one send against the fake push service, and the patient's push routes."""

from __future__ import annotations

import os
import stat
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from conftest import create_clinic, csrf_token, enrol_patient, listed_push_service, open_invite
from helpers import frozen, page_html, unhashed

from meso import courses, push, subscriptions, worker
from meso.extensions import db
from meso.models import (
    Patient,
    PatientDevice,
    PushSubscription,
    Reminder,
    ReminderSettings,
    utcnow,
)

SUBJECT = "mailto:ops@clinic.example"


def message(**overrides) -> push.Message:
    fields = {"payload": {"title": "Hi", "body": "Body", "url": "/today", "tag": "heat_day1"},
              "ttl": 3600, "topic": "heat_day1:course 1", "urgency": "normal"}
    return push.Message(**{**fields, **overrides})


def subscription(client) -> push.Subscription:
    keys = client.json["keys"]
    return push.Subscription(client.endpoint, keys["p256dh"], keys["auth"])


@pytest.fixture
def pusher(app, fake_push):
    """The app's Pusher, with the fake push service listed and a one-second deadline."""
    app.config["MESO_PUSH_DEADLINE"] = 1
    return push.pusher_for(app)


# -- one send, each outcome ------------------------------------------------------------------


def test_a_sent_message_decrypts_with_the_subscriptions_keys(pusher, fake_push, vapid):
    client = fake_push.subscription()
    outcome = pusher.send(subscription(client), message(ttl=5400, urgency="high"))
    assert outcome == push.Outcome(push.SENT, 201)
    [got] = fake_push.messages()
    assert got.payload == message().payload
    assert (got.ttl, got.urgency, got.topic) == (5400, "high", pusher.topic("heat_day1:course 1"))
    assert got.vapid_key == vapid and got.claims["sub"] == SUBJECT


def test_each_send_signs_fresh_claims_for_its_own_push_service(app, vapid):
    """Each push service gets a signature for its own audience, never the previous one's."""
    with listed_push_service(app, vapid) as one, listed_push_service(app, vapid) as two:
        pusher = push.pusher_for(app)
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


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_a_failed_send_and_is_never_followed(pusher, fake_push, status):
    """A redirect could point anywhere (our own network): it is not followed, not retried."""
    client, elsewhere = fake_push.subscription(), fake_push.subscription()
    fake_push.answer(client, status, Location=elsewhere.endpoint)
    outcome = pusher.send(subscription(client), message())
    assert (outcome.kind, outcome.status) == (push.FAILED, status)
    assert outcome.error.endswith("(redirects are not followed)")
    assert client.endpoint not in outcome.error
    assert fake_push.messages(elsewhere.name, status=None) == []


def test_a_hung_push_service_times_out_and_is_retried(pusher, fake_push):
    client = fake_push.subscription()
    fake_push.hang(client)
    outcome = pusher.send(subscription(client), message())
    assert (outcome.kind, outcome.error) == (push.RETRY, "timed out")


def test_a_push_service_trickling_its_answer_is_cut_at_the_deadline(pusher, fake_push):
    """A byte every quarter second never trips a per-read time-out; the total deadline does."""
    client = fake_push.subscription()
    fake_push.trickle(client)
    started = time.monotonic()
    outcome = pusher.send(subscription(client), message())
    took = time.monotonic() - started
    assert (outcome.kind, outcome.error) == (push.RETRY, "timed out")
    assert 1.0 <= took < 3.0, f"the one-second deadline held the send for {took:.1f} s"
    assert [m.status for m in fake_push.messages(status=None)] == [0], "it was reached"


def test_an_unreachable_push_service_is_retried(app, vapid):
    with listed_push_service(app, vapid) as gone:
        endpoint = gone.subscription()
    outcome = push.pusher_for(app).send(subscription(endpoint), message())
    assert outcome.kind == push.RETRY and outcome.error.startswith("network")


def test_a_bad_urgency_never_leaves(pusher, fake_push):
    client = fake_push.subscription()
    assert pusher.send(subscription(client), message(urgency="now!")).kind == push.FAILED
    assert fake_push.messages(status=None) == []


def test_an_endpoint_outside_the_list_is_never_posted_to(pusher, vapid):
    """The worker drops such subscriptions first; the Pusher refuses them all the same."""
    from fakepush import FakePushService

    with FakePushService(vapid) as unlisted:
        outcome = pusher.send(subscription(unlisted.subscription()), message())
        assert (outcome.kind, outcome.error) == (push.GONE, "not at a listed push service")
        assert unlisted.messages(status=None) == []


def test_the_bench_s_push_service_answers_at_once_and_checks_when_asked(app, vapid):
    """bench/pushservice.py: it answers 201 without checking (its work is not charged to
    the senders it measures), then checks and decrypts what it kept when asked: a good
    message counts, one that does not decrypt is an error."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    from meso import push_http

    script = Path(__file__).resolve().parent.parent / "bench" / "pushservice.py"
    service = subprocess.Popen([sys.executable, str(script), "2"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    assert service.stdin is not None and service.stdout is not None

    def ask(what: str) -> int:
        service.stdin.write(what + "\n")
        service.stdin.flush()
        return int(service.stdout.readline())

    try:
        hello = json.loads(service.stdout.readline())
        app.config["MESO_PUSH_SERVICES"] += "," + hello["origin"]
        app.config["MESO_PUSH_DEADLINE"] = 5
        good, bad = (push.Subscription(sub["endpoint"], sub["keys"]["p256dh"],
                                       sub["keys"]["auth"]) for sub in hello["subscriptions"])
        assert push.pusher_for(app).send(good, message()) == push.Outcome(push.SENT, 201)
        sealed = push.pusher_for(app).seal(bad, message())
        assert isinstance(sealed, push.Sealed)
        # The last byte flipped (set to a constant, it was already that one time in 256).
        tampered = sealed.body[:-1] + bytes([sealed.body[-1] ^ 1])
        answer = push_http.post(bad.endpoint, tampered, sealed.headers, 5)
        assert answer.status == 201  # answered before any check
        assert ask("arrived") == 2, "what arrived, before any check"
        assert (ask("count"), ask("errors")) == (1, 1)
        assert ask("count") == 1, "a message is counted once"
    finally:
        service.stdin.close()
        service.wait(timeout=30)


# -- what the push service learns ------------------------------------------------------------


def test_the_topic_is_an_opaque_digest_stable_for_the_same_message(pusher, fake_push):
    client = fake_push.subscription()
    for topic in ("heat_day1:course 1", "heat_day1:course 1", "heat_day1:course 2",
                  "sun_day1:course 1"):
        assert pusher.send(subscription(client), message(topic=topic)).kind == push.SENT
    first, again, other_course, other_rule = (m.topic for m in fake_push.messages())
    assert first == again, "a re-send keeps its Topic, so it still replaces"
    assert len({first, other_course, other_rule}) == 3
    assert len(first) == 32  # RFC 8030's limit, base64url
    assert "heat" not in first.lower() and "course" not in first.lower()


def test_the_topic_is_keyed_by_the_secret_key(app, pusher):
    topic = pusher.topic("heat_day1:course 1")
    app.config["SECRET_KEY"] = "another-secret-key"
    assert push.pusher_for(app).topic("heat_day1:course 1") != topic


def test_payloads_are_padded_so_their_size_tells_nothing(pusher, fake_push):
    client = fake_push.subscription()
    short = {"title": "Reminder", "body": "Sun.", "url": "/today", "tag": "sun_day1"}
    long = {**short, "title": "No sauna or hot bath tonight", "body": "Heat " * 120}
    for payload in (short, long):
        assert pusher.send(subscription(client), message(payload=payload)).kind == push.SENT
    got = fake_push.messages()
    assert [m.payload for m in got] == [short, long], "the padding is invisible to the page"
    assert got[0].size == got[1].size


def test_retry_after_can_be_an_http_date():
    now = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    assert push.parse_retry_after("Fri, 20 Nov 2026 10:02:00 GMT", now) == 120.0
    assert push.parse_retry_after("soon", now) is None
    assert push.parse_retry_after(None, now) is None


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
        (lambda d: d.update(endpoint=d["endpoint"] + "x" * 1000), "endpoint"),
        (lambda d: d.update(endpoint=42), "endpoint"),
    ],
)
def test_malformed_subscriptions_are_refused(app, fake_push, change, field):
    data = fake_push.subscription().json
    change(data)
    with pytest.raises(subscriptions.InvalidSubscription) as refused:
        subscriptions.parse(data, push.services_for(app))
    assert refused.value.field == field


def test_a_listed_push_services_subscription_is_accepted(app, fake_push):
    data = good(fake_push)
    parsed = subscriptions.parse(data, push.services_for(app))
    assert parsed == push.Subscription(data["endpoint"], data["keys"]["p256dh"],
                                       data["keys"]["auth"])


# -- the routes ------------------------------------------------------------------------------


@pytest.fixture
def patient_client(app, client, vapid):
    """A patient who opened their link in `client`; returns (patient, client, csrf token)."""
    clinic = create_clinic()
    patient, token = enrol_patient(clinic, first_session=datetime.now(UTC) - timedelta(hours=3))
    assert open_invite(client, token).status_code == 303
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
    assert stored() == []


# The fake push service is listed as http://127.0.0.1:PORT; the browsers' services by default.
ATTACKS = [
    "http://127.1:{port}/push/x", "http://0177.0.0.1:{port}/push/x",
    "http://0x7f.1:{port}/push/x", "http://0x7f000001:{port}/push/x",
    "http://2130706433:{port}/push/x", "http://127.000.000.001:{port}/push/x",
    "http://[::1]:{port}/push/x", "http://[::ffff:127.0.0.1]:{port}/push/x",
    "http://[::ffff:7f00:1]:{port}/push/x", "http://localhost:{port}/push/x",
    "http://localhost.:{port}/push/x", "http://127.0.0.1:{other}/push/x",
    "http://127.0.0.1/push/x", "https://127.0.0.1:{port}/push/x",
    "http://user:pw@127.0.0.1:{port}/push/x", "http://127.0.0.1:{port}@evil.example/push/x",
    "https://fcm.googleapis.com.evil.example/fcm/send/x", "https://evilfcm.googleapis.com/x",
    "https://evil.fcm.googleapis.com/x", "https://evilpush.apple.com/x",
    "https://push.apple.com/x", "https://web.push.apple.com.evil.example/x",
    "https://fcm.googleapis.com@evil.example/", "https://user@fcm.googleapis.com/x",
    "https://fcm.googleapis.com\\@evil.example/x", "https://fcm.googleapis.com:8443/fcm/x",
    "https://fcm.googleapis.com:80/fcm/x", "http://fcm.googleapis.com/fcm/send/x",
    "https://fcm.googleapis.c\u043em/x", " https://fcm.googleapis.com/x",
    "https://fcm.googleapis.com/x y", "https://[::1]/x", "https://localhost./x",
    "https://169.254.169.254/latest/meta-data", "https://10.0.0.1/x",
    "https://db.internal/x", "https://intranet/x", "ftp://fcm.googleapis.com/x",
    "https://fcm.googleapis.com:99999/x", "https://[fcm.googleapis.com]/x",
]


@pytest.mark.parametrize("template", ATTACKS)
def test_endpoints_outside_the_push_services_get_a_clear_400(patient_client, fake_push,
                                                              template):
    _, client, token = patient_client
    port = int(fake_push.origin.rsplit(":", 1)[1])
    data = good(fake_push)
    data["endpoint"] = template.format(port=port, other=port + 1)
    response = post(client, token, data)
    assert response.status_code == 400, data["endpoint"]
    assert response.json["field"] == "endpoint"
    assert response.json["error"].startswith("the endpoint ")
    assert stored() == []


@pytest.mark.parametrize("endpoint", [
    "https://fcm.googleapis.com/fcm/send/abc:def", "https://FCM.GoogleAPIs.com/fcm/send/x",
    "https://fcm.googleapis.com:443/fcm/send/x", "https://fcm.googleapis.com./fcm/send/x",
    "https://updates.push.services.mozilla.com/wpush/v2/gAAAA",
    "https://web.push.apple.com/QGuQyavXutnMH", "https://api.push.apple.com/x",
    "https://wns2-by3p.notify.windows.com/w/?token=BQYAAA",
])
def test_the_browsers_push_services_are_accepted_by_default(patient_client, fake_push,
                                                             endpoint):
    _, client, token = patient_client
    data = good(fake_push)
    data["endpoint"] = endpoint
    assert post(client, token, data).status_code == 201
    assert [row.endpoint for row in stored()] == [endpoint]


def test_a_fake_push_service_is_accepted_only_while_listed(patient_client, fake_push, app):
    _, client, token = patient_client
    app.config["MESO_PUSH_SERVICES"] = app.config["MESO_PUSH_SERVICES"].replace(
        "," + fake_push.origin, "")
    response = post(client, token, good(fake_push))
    assert response.status_code == 400 and response.json["field"] == "endpoint"
    assert stored() == []


def test_a_broken_push_services_setting_is_a_503_not_a_500(patient_client, fake_push, app):
    _, client, token = patient_client
    app.config["MESO_PUSH_SERVICES"] = "http://push.example.com"
    response = post(client, token, good(fake_push))
    assert response.status_code == 503 and "not set up" in response.json["error"]
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


def test_another_patient_cannot_take_over_a_live_devices_endpoint(patient_client, app,
                                                                   fake_push):
    """Without the landing's confirmed switch, a subscription never changes patients."""
    first, client, token = patient_client
    data = good(fake_push)
    post(client, token, data)
    _other, other_token = enrol_patient(create_clinic("Other"), name="Paola Verdi")
    phone = app.test_client()  # the same browser after it lost its cookie, say
    assert open_invite(phone, other_token).status_code == 303
    response = post(phone, csrf_token(phone, "/today"), data)
    assert response.status_code == 409
    assert response.json["field"] == "endpoint" and "another person" in response.json["error"]
    [row] = stored()
    assert row.patient_id == first.id


def test_after_a_confirmed_switch_the_browser_subscribes_for_the_new_patient(
        patient_client, app, fake_push):
    first, client, token = patient_client
    data = good(fake_push)
    post(client, token, data)
    other, other_token = enrol_patient(create_clinic("Other"), name="Paola Verdi")
    # The same browser (it holds the first patient's cookie) opens the other link and says yes.
    assert open_invite(client, other_token).status_code == 409
    assert stored()[0].patient_id == first.id  # asking changed nothing
    assert open_invite(client, other_token, switch=True).status_code == 303
    assert stored() == []  # the old device's subscription went with it
    assert post(client, csrf_token(client, "/today"), data).status_code == 201
    [row] = stored()
    assert row.patient_id == other.id


def test_unsubscribing_deletes_only_the_patients_own_subscription(patient_client, app,
                                                                  fake_push):
    _, client, token = patient_client
    mine, theirs = good(fake_push), good(fake_push)
    post(client, token, mine)
    _, other_token = enrol_patient(create_clinic("Other"), name="Paola Verdi")
    phone = app.test_client()
    assert open_invite(phone, other_token).status_code == 303
    post(phone, csrf_token(phone, "/today"), theirs)
    response = post(client, token, {"endpoint": theirs["endpoint"]}, method="delete")
    assert response.status_code == 204 and len(stored()) == 2
    post(client, token, {"endpoint": mine["endpoint"]}, method="delete")
    assert [row.endpoint for row in stored()] == [theirs["endpoint"]]
    assert post(client, token, {}, method="delete").status_code == 400


def test_a_revoked_device_gets_no_reminders(patient_client, fake_push):
    _, client, token = patient_client
    post(client, token, good(fake_push))
    db.session.execute(sa.update(PatientDevice).values(revoked_at=datetime.now(UTC)))
    db.session.commit()
    assert client.post("/push/test", headers={"X-CSRFToken": token}).status_code == 401
    assert fake_push.messages(status=None) == []


def test_a_new_subscription_receives_what_is_still_useful(patient_client, fake_push):
    """Reminders skipped for want of a device go out once the patient turns reminders on."""
    _patient, client, token = patient_client
    db.session.execute(sa.update(Reminder).values(status="skipped", last_error="no device"))
    db.session.commit()
    post(client, token, good(fake_push))
    db.session.expire_all()
    rows = db.session.scalars(sa.select(Reminder)).all()
    assert rows and all(r.status == "pending" for r in rows if r.expires_at > datetime.now(UTC))


# -- the test notification -------------------------------------------------------------------


def ask_for_a_test(client, token):
    return client.post("/push/test", headers={"X-CSRFToken": token})


def run_worker():
    """The worker, once, on the real clock (helpers.frozen moves it when a test needs)."""
    return worker.run(once=True, batch=50, concurrency=2, lease=timedelta(seconds=60), poll=0,
                      should_stop=lambda: False, now=utcnow)


def trials(service, name=None):
    return [m for m in service.messages(name) if m.payload["notification"]["tag"] == "test"]


@pytest.fixture
def nothing_else_due(patient_client):
    """Only the test notification is due: the course's own reminders are out of the way."""
    db.session.execute(sa.update(Reminder).values(status="cancelled"))
    db.session.commit()
    return patient_client


def test_a_test_notification_is_queued_and_the_worker_sends_it(nothing_else_due, fake_push):
    patient, client, token = nothing_else_due
    alive, dead = fake_push.subscription(), fake_push.subscription()
    post(client, token, alive.json)
    post(client, token, dead.json)
    fake_push.answer(dead, 410)
    response = ask_for_a_test(client, token)
    assert response.status_code == 202 and response.json == {"queued": True, "devices": 2}
    assert fake_push.messages(status=None) == [], "the web request sends nothing itself"
    [row] = db.session.scalars(sa.select(Reminder).where(Reminder.rule == "trial")).all()
    assert (row.patient_id, row.status) == (patient.id, "pending")
    stats = run_worker()
    assert (stats.sent, stats.pruned) == (1, 1)
    [got] = trials(fake_push, alive.name)
    shown = got.payload["notification"]
    assert shown["title"] == "Reminders work"
    assert shown["navigate"] == "http://localhost/reminders"
    assert len(got.topic) == 32 and "trial" not in got.topic and "test" not in got.topic
    assert [row.endpoint for row in stored()] == [alive.endpoint]
    assert stored()[0].last_success_at is not None
    db.session.expire_all()
    assert db.session.get(Reminder, row.id).status == "sent"


def test_asking_twice_before_the_worker_runs_sends_one_test(nothing_else_due, fake_push):
    _, client, token = nothing_else_due
    phone = fake_push.subscription()
    post(client, token, phone.json)
    assert [ask_for_a_test(client, token).status_code for _ in range(2)] == [202, 202]
    run_worker()
    assert len(trials(fake_push, phone.name)) == 1
    assert ask_for_a_test(client, token).status_code == 202  # the row is re-used
    run_worker()
    first, second = trials(fake_push, phone.name)
    assert first.topic == second.topic, "the same message keeps its Topic"


def test_test_notifications_are_rate_limited_with_retry_after(patient_client, fake_push):
    _, client, token = patient_client
    post(client, token, good(fake_push))
    start = datetime.now(UTC) + timedelta(minutes=1)  # not back: the CSRF token is dated
    with frozen(start):
        assert [ask_for_a_test(client, token).status_code for _ in range(3)] == [202] * 3
    with frozen(start + timedelta(minutes=4)):
        refused = ask_for_a_test(client, token)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "360"
    assert refused.json == {"error": "Too many test notifications: try again in 6 min.",
                            "retry_after": 360}
    with frozen(start + timedelta(minutes=10)):
        assert ask_for_a_test(client, token).status_code == 202


def test_a_test_notification_is_not_held_by_quiet_hours(nothing_else_due, fake_push):
    """The patient asked for it a moment ago, so it comes now, quiet hours or not."""
    patient, client, token = nothing_else_due
    now = datetime.now(UTC).astimezone(ZoneInfo("Europe/Rome"))
    db.session.add(ReminderSettings(
        patient_id=patient.id, quiet_start=(now - timedelta(hours=1)).time(),
        quiet_end=(now + timedelta(hours=1)).time()))
    db.session.commit()
    phone = fake_push.subscription()
    post(client, token, phone.json)
    assert ask_for_a_test(client, token).status_code == 202
    run_worker()
    assert len(trials(fake_push, phone.name)) == 1


def test_re_planning_leaves_a_queued_test_alone(patient_client, fake_push):
    patient, client, token = patient_client
    post(client, token, good(fake_push))
    assert ask_for_a_test(client, token).status_code == 202
    courses.after_course_change(db.session.get(Patient, patient.id))
    db.session.commit()
    db.session.expire_all()
    trial = db.session.scalar(sa.select(Reminder).where(Reminder.rule == "trial"))
    assert trial.status == "pending"


def test_a_test_notification_without_a_device_says_so(patient_client):
    _, client, token = patient_client
    response = ask_for_a_test(client, token)
    assert response.status_code == 409 and "No device" in response.json["error"]


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
    scripts = [unhashed(tag["src"]) for tag in page_html(html).select("script[src]")]
    assert "/static/js/reminders.js" in scripts and "Add to Home Screen" in html


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


# -- the VAPID JWT: one per push service, reused, renewed ----------------------------------


def test_the_vapid_jwt_is_kept_per_push_service_and_renewed_before_it_expires(pusher,
                                                                              monkeypatch):
    signed = []
    sign = pusher.vapid.sign

    def counting(claims, *args, **kwargs):
        signed.append(dict(claims))
        return sign(claims, *args, **kwargs)

    monkeypatch.setattr(pusher.vapid, "sign", counting)
    start = 1_900_000_000.0
    first = pusher.authorization("https://fcm.googleapis.com", start)
    # Reused while more than JWT_RENEW of its life is left, however many messages.
    for later in (1, 3600, push.JWT_LIFETIME - push.JWT_RENEW):
        assert pusher.authorization("https://fcm.googleapis.com", start + later) == first
    assert signed == [{"sub": SUBJECT, "aud": "https://fcm.googleapis.com",
                       "exp": int(start) + push.JWT_LIFETIME}]
    # Another push service: a JWT of its own (the audience is part of what is signed).
    other = pusher.authorization("https://updates.push.services.mozilla.com", start)
    assert other != first and signed[-1]["aud"] == "https://updates.push.services.mozilla.com"
    # Less than JWT_RENEW left: signed anew, well before it expires.
    renewed_at = start + push.JWT_LIFETIME - push.JWT_RENEW + 1
    renewed = pusher.authorization("https://fcm.googleapis.com", renewed_at)
    assert renewed != first and signed[-1]["exp"] == int(renewed_at) + push.JWT_LIFETIME
    assert pusher.authorization("https://fcm.googleapis.com", renewed_at + 60) == renewed
    assert len(signed) == 3


def test_the_jwts_kept_are_bounded(pusher, monkeypatch):
    monkeypatch.setattr(push, "JWT_AUDIENCES", 3)
    for n in range(7):
        pusher.authorization(f"https://h{n}.notify.windows.com", 1_900_000_000.0)
        assert len(pusher._jwts) <= 3


def test_messages_to_one_push_service_share_a_jwt_that_it_accepts(pusher, fake_push):
    """End to end: the fake service verifies each message's JWT (signature, audience, expiry)."""
    for _ in range(3):
        assert pusher.send(subscription(fake_push.subscription()), message()).kind == push.SENT
    claims = [m.claims for m in fake_push.messages()]
    assert len(claims) == 3 and claims[0] == claims[1] == claims[2]
    assert claims[0]["aud"] == fake_push.origin
    assert claims[0]["exp"] > time.time() + push.JWT_RENEW


def test_keys_that_do_not_encrypt_fail_the_message_not_the_worker(pusher, fake_push):
    client = fake_push.subscription()
    keys = client.json["keys"]
    off_curve = push.b64url(b"\x04" + b"\x01" * 64)  # the right shape, not a P-256 point
    for p256dh in (off_curve, push.b64url(b"\x04" * 10)):
        outcome = pusher.send(push.Subscription(client.endpoint, p256dh, keys["auth"]),
                              message())
        assert outcome.kind == push.FAILED and outcome.error.startswith("encryption:")
    assert fake_push.messages(status=None) == []
