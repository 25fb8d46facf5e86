"""MESO_PUSH_SERVICES and MESO_PUSH_DEADLINE: reading the setting, normalising hosts.

The endpoints a browser may send are checked through the route in test_push.py; these are the
parts under it, and the configuration a deployment writes.
"""

from __future__ import annotations

import pytest

from meso import create_app, push, push_services
from meso.push_services import Origin


def test_the_default_is_the_browsers_push_services(app):
    origins = push.services_for(app)
    assert origins == (
        Origin("https", "fcm.googleapis.com", 443),
        Origin("https", "updates.push.services.mozilla.com", 443),
        Origin("https", "push.apple.com", 443, subdomains=True),
        Origin("https", "notify.windows.com", 443, subdomains=True),
    )


def test_a_send_may_take_ten_seconds_by_default(app, vapid):
    assert push.pusher_for(app).deadline == 10


def test_the_environment_sets_the_list_and_the_deadline(tmp_path, monkeypatch):
    monkeypatch.setenv("MESO_PUSH_SERVICES", " https://push.example.com , https://*.Push.Example ")
    monkeypatch.setenv("MESO_PUSH_DEADLINE", "2.5")
    app = create_app({"TESTING": True, "SECRET_KEY": "k", "MESO_BASE_URL": "http://localhost",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite3'}"},
                     instance_path=str(tmp_path / "instance"))
    assert push.services_for(app) == (Origin("https", "push.example.com", 443),
                                      Origin("https", "push.example", 443, subdomains=True))
    app.config.update(VAPID_PRIVATE_KEY=push.generate_private_key(), VAPID_SUBJECT="mailto:a@b.c")
    assert push.pusher_for(app).deadline == 2.5


@pytest.mark.parametrize(("value", "says"), [
    ("", "MESO_PUSH_SERVICES is empty"),
    (" , ", "MESO_PUSH_SERVICES is empty"),
    ("fcm.googleapis.com", "is not an origin"),
    ("https://fcm.googleapis.com/fcm/send", "is not an origin"),
    ("https://fcm.googleapis.com?x=1", "is not an origin"),
    ("https://user@fcm.googleapis.com", "is not an origin"),
    ("https://*.127.0.0.1", "is not an origin"),
    ("https://127.1", "is not an origin"),
    ("https://fcm.googleapis.com:99999", "is not an origin"),
    ("ftp://fcm.googleapis.com", "is not an origin"),
    ("http://fcm.googleapis.com", "http:// is allowed only on a loopback address"),
    ("http://localhost:8080", "http:// is allowed only on a loopback address"),
    ("http://10.0.0.5:8080", "http:// is allowed only on a loopback address"),
    ("http://*.example.com", "http:// is allowed only on a loopback address"),
])
def test_a_wrong_setting_says_what_is_wrong(app, value, says):
    app.config["MESO_PUSH_SERVICES"] = value
    with pytest.raises(push.PushConfigError, match=says):
        push.services_for(app)


@pytest.mark.parametrize("value", ["http://127.0.0.1:8080", "http://[::1]:8080",
                                   "http://127.0.0.2:9"])
def test_http_is_allowed_for_a_loopback_address_only(value):
    [origin] = push_services.parse(value)
    assert origin.scheme == "http" and not origin.subdomains


@pytest.mark.parametrize("deadline", ["0", "-1", "301", "soon", ""])
def test_a_wrong_deadline_is_refused(app, vapid, deadline):
    app.config["MESO_PUSH_DEADLINE"] = deadline
    with pytest.raises(push.PushConfigError, match="MESO_PUSH_DEADLINE"):
        push.pusher_for(app)


@pytest.mark.parametrize(("host", "normal"), [
    ("FCM.GoogleAPIs.com", "fcm.googleapis.com"),
    ("fcm.googleapis.com.", "fcm.googleapis.com"),
    ("bücher.example", "xn--bcher-kva.example"),
    ("127.0.0.1", "127.0.0.1"),
    ("::FFFF:127.0.0.1", "::ffff:7f00:1"),
    ("0:0:0:0:0:0:0:1", "::1"),
])
def test_hosts_are_compared_normalised(host, normal):
    assert push_services.normal_host(host) == normal


@pytest.mark.parametrize("host", ["127.1", "0177.0.0.1", "0x7f.1", "0x7f000001", "2130706433",
                                  "127.0.0.01", "example.0x", "example.123", "a..b", "a_b.com"])
def test_ipv4_in_other_notations_and_bad_names_are_not_hosts(host):
    with pytest.raises(ValueError):
        push_services.normal_host(host)


def test_a_wildcard_covers_subdomains_only_at_a_label_boundary():
    [apple] = push_services.parse("https://*.push.apple.com")
    assert apple.admits("https", "web.push.apple.com", 443)
    assert apple.admits("https", "a.b.push.apple.com", 443)
    assert not apple.admits("https", "push.apple.com", 443)
    assert not apple.admits("https", "evilpush.apple.com", 443)
    assert not apple.admits("https", "web.push.apple.com", 8443)
    assert not apple.admits("http", "web.push.apple.com", 443)


def test_an_endpoint_is_parsed_once_for_its_checks_and_the_answer_stays_the_same(monkeypatch):
    """The worker checks a device's endpoint when it loads the batch and again before it
    seals the message: the second check reuses the first parse (endpoint_origin's cache)."""
    origins = push_services.parse("https://*.push.apple.com")
    parsed = []
    real = push_services.urlsplit
    monkeypatch.setattr(push_services, "urlsplit", lambda url: parsed.append(url) or real(url))
    endpoint = "https://web.push.apple.com/QGuQyavXutnMH1"
    assert push_services.allowed(endpoint, origins)
    assert push_services.allowed(endpoint, origins)
    assert parsed == [endpoint]
    for refused in ("https://evil.example/QGu", "https://user@web.push.apple.com/x",
                    "ftp://web.push.apple.com/x"):
        with pytest.raises(ValueError):
            push_services.check(refused, origins)
        with pytest.raises(ValueError):  # refused again, from what was kept
            push_services.check(refused, origins)
