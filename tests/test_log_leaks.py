"""The suite-wide log-leak check (logleaks.py) is fed, finds a leak, and fails a run over it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import PASSWORD, create_clinic, create_staff, csrf_token, enrol_patient, open_invite
from logleaks import CHECK, LeakCheck, meaningful

from meso import ROOT, accesscode
from meso.extensions import db
from meso.models import PushSubscription

TESTS = Path(__file__).resolve().parent


def test_the_check_finds_a_registered_value_in_any_line():
    check = LeakCheck()
    check.remember("patient name", "Zelda Canary")
    check.remember("feeling", "3")  # too plain to search for: not registered
    check.add_lines("gunicorn", ['{"message": "GET /today 200"}'])
    check.lines.append("meso WARNING opened the page of Zelda Canary")
    assert check.leaks() == [
        ("patient name", "Zelda Canary", "meso WARNING opened the page of Zelda Canary")]
    assert "3" not in check.secrets


def test_only_specific_values_are_searched_for():
    assert meaningful("Zelda Canary") and meaningful("ABCD-EFG-HJK")
    assert not any(meaningful(v) for v in ("face", "12345", "aaaaaaa", None, 4, "  ab  "))


def test_the_app_feeds_the_registry_with_what_the_tests_use(app, client):
    clinic = create_clinic()
    create_staff(clinic, email="feeder@clinic.example")
    patient, token = enrol_patient(clinic, name="Feeder Patient")
    code = accesscode.code_for(patient)
    assert open_invite(client, token).status_code == 303
    csrf = csrf_token(client, "/today")
    key = "feeder-check-in-key-0001"
    answer = client.post("/checkins", headers={"X-CSRFToken": csrf},
                         json={"key": key, "feeling": 2, "symptoms": ["fever", "rash"]})
    assert answer.status_code == 201
    endpoint = "https://fcm.googleapis.com/fcm/send/feeder-endpoint-0001"
    db.session.add(PushSubscription(patient_id=patient.id, endpoint=endpoint,
                                    p256dh="feeder-p256dh-key", auth="feeder-auth"))
    db.session.commit()
    for value, kind in [("Feeder Patient", "Patient.name"), (token, "token"),
                        ("feeder@clinic.example", "StaffUser.email"), (PASSWORD, "password"),
                        (code, "access code"), (code.replace("-", ""), "access code"),
                        (key, "request field key"), ("fever,rash", "CheckIn.symptoms"),
                        (endpoint, "PushSubscription.endpoint"),
                        ("feeder-auth", "PushSubscription.auth")]:
        assert CHECK.secrets.get(value) == kind, value


def test_the_check_catches_a_name_logged_through_the_app(app):
    patient, _ = enrol_patient(create_clinic(), name="Leaky Canary")
    start = len(CHECK.lines)
    app.logger.warning("opened the page of %s", patient.name)
    caught = [leak for leak in CHECK.leaks() if leak[1] == "Leaky Canary"]
    # Take the line back out: it was logged on purpose, and must not fail this run.
    del CHECK.lines[start:]
    assert caught == [("Patient.name", "Leaky Canary", "meso WARNING opened the page of "
                                                       "Leaky Canary")]


def test_a_run_that_logs_a_name_fails(tmp_path):
    (tmp_path / "conftest.py").write_text(
        "from logleaks import pytest_sessionfinish, pytest_sessionstart  # noqa: F401\n")
    (tmp_path / "test_leak.py").write_text(textwrap.dedent("""
        import logging
        from logleaks import CHECK

        def test_logs_a_name():
            CHECK.remember("patient name", "Zelda Canary")
            logging.getLogger("meso").warning("opened the page of Zelda Canary")

        def test_logs_nothing_secret():
            logging.getLogger("meso").warning("opened a page")
    """))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(ROOT)])}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert "2 passed" in run.stdout, run.stdout + run.stderr
    assert "LOG LEAK (patient name) 'Zelda Canary' in: meso WARNING opened the page of " \
           "Zelda Canary" in run.stdout
    assert run.returncode == 1
