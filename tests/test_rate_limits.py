"""Rate limits that hold: an IPv6 client is its /64, and every 429 says when to try again, in
its page and in Retry-After."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from conftest import PASSWORD, create_clinic, create_staff, csrf_token, enrol_patient
from helpers import frozen, text_of
from staff_helpers import new_client

from meso import accesscode, ratelimit
from meso.accesscode import ALPHABET, CLIENT_LIMIT
from meso.extensions import db
from meso.staff.auth import SIGN_IN_CLIENT_LIMIT, SIGN_IN_LIMIT

START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(("address", "network"), [
    ("203.0.113.9", "203.0.113.9"),
    ("2001:db8:1:2::10", "2001:db8:1:2::/64"),
    ("2001:DB8:1:2:a5c3:77ff:fe01:9", "2001:db8:1:2::/64"),
    ("::ffff:203.0.113.9", "203.0.113.9"),
    ("", ""),
])
def test_client_network(address, network):
    assert ratelimit.client_network(address) == network


def test_one_ipv6_slash_64_is_one_client_and_its_key_is_a_digest(app):
    same = {ratelimit.client_key(f"2001:db8:1:2::{n:x}") for n in range(1, 50)}
    assert len(same) == 1
    assert ratelimit.client_key("2001:db8:1:3::1") not in same
    assert "2001" not in same.pop()


WRONG = "wrong password!"


def sign_in_from(client, address: str, email: str, password: str = WRONG):
    token = csrf_token(client, "/staff/sign-in")
    db.session.expire_all()
    return client.post("/staff/sign-in", environ_base={"REMOTE_ADDR": address},
                       data={"email": email, "password": password, "csrf_token": token})


def test_sign_in_guessing_from_one_ipv6_network_is_limited_as_one_client(app):
    create_staff(create_clinic())
    client = new_client(app)
    for n in range(SIGN_IN_CLIENT_LIMIT[0]):  # a new address and account for every guess
        response = sign_in_from(client, f"2001:db8:1:2::{n + 1:x}", f"user{n}@clinic.example")
        assert response.status_code == 400
    locked = sign_in_from(client, "2001:db8:1:2:ffff::1", "anna@clinic.example", PASSWORD)
    assert locked.status_code == 429
    elsewhere = sign_in_from(client, "2001:db8:1:3::1", "anna@clinic.example", PASSWORD)
    assert elsewhere.status_code == 303


def minutes_in(html: str) -> int:
    return int(re.search(r"Try again in (\d+) minutes?\.", text_of(html)).group(1))


def test_a_locked_sign_in_says_when_to_try_again(app):
    create_staff(create_clinic())
    client = new_client(app)
    with frozen(START) as clock:
        for _ in range(SIGN_IN_LIMIT[0]):
            sign_in_from(client, "203.0.113.9", "anna@clinic.example")
        clock.move_to(START + timedelta(minutes=5))
        locked = sign_in_from(client, "203.0.113.9", "anna@clinic.example", PASSWORD)
        assert locked.status_code == 429
        assert locked.headers["Retry-After"] == "600"
        assert minutes_in(locked.get_data(as_text=True)) == 10
        clock.move_to(START + timedelta(minutes=14, seconds=30))
        locked = sign_in_from(client, "203.0.113.9", "anna@clinic.example", PASSWORD)
        assert locked.headers["Retry-After"] == "30"
        assert "Try again in 1 minute." in locked.get_data(as_text=True)
        clock.move_to(START + timedelta(minutes=15))
        assert sign_in_from(client, "203.0.113.9", "anna@clinic.example",
                            PASSWORD).status_code == 303


def open_from(client, address: str, code: str):
    token = csrf_token(client, "/open")
    db.session.expire_all()
    return client.post("/open", environ_base={"REMOTE_ADDR": address},
                       data={"code": code, "csrf_token": token})


def test_access_code_guessing_from_one_ipv6_network_is_limited_and_says_when(app):
    patient, _ = enrol_patient(create_clinic())
    code = accesscode.ensure(patient)
    db.session.commit()
    client = new_client(app)
    with frozen(START) as clock:
        for n in range(CLIENT_LIMIT[0]):  # another address and patient (locator) every time
            guess = f"{ALPHABET[n] * 4}-222-222"
            assert open_from(client, f"2001:db8:7:7::{n + 1:x}", guess).status_code == 400
        clock.move_to(START + timedelta(minutes=3))
        locked = open_from(client, "2001:db8:7:7:abcd::1", code)
        assert locked.status_code == 429
        assert locked.headers["Retry-After"] == "720"
        html = locked.get_data(as_text=True)
        assert "Too many tries." in html and minutes_in(html) == 12
        assert open_from(client, "2001:db8:7:8::1", code).status_code == 303


def test_retry_after_is_the_longest_wait_of_the_limits_hit(app):
    short, long = ("a", (1, timedelta(minutes=5))), ("b", (1, timedelta(hours=1)))
    ratelimit.count_failures([short, long], START)
    assert ratelimit.retry_after([short, long], START + timedelta(minutes=1)) == 59 * 60
    assert ratelimit.retry_after([short], START + timedelta(minutes=5)) is None
    assert not ratelimit.limited([short], START + timedelta(minutes=5))
    assert ratelimit.limited([long], START + timedelta(minutes=5))
