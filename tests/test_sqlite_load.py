"""SQLite under real load: gunicorn with 4 workers, concurrent check-ins, and SIGKILL crashes.

Every acknowledged write (a 201) must be in the database afterwards, with no "database is
locked" and no 5xx on the way, and the file must pass `PRAGMA integrity_check` after a
server killed mid-write is started again. The numbers measured on a two-core machine are
printed (run with -s to see them) and quoted in the README.
"""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
import requests
from conftest import create_clinic
from gunicorn_server import Gunicorn
from helpers import csrf_meta
from logleaks import CHECK

from meso import access, courses
from meso.extensions import db
from meso.models import utcnow

pytestmark = pytest.mark.sqlite

CLIENTS = 4
CHECKINS_PER_CLIENT = 250
# A patient takes at most a few check-ins a day; spread the load over many patients, as a
# clinic's morning would be, well under the per-patient daily limit.
PER_PATIENT = 5


def database_file(app) -> str:
    return app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")


def patients_with_devices(count: int) -> list[str]:
    """Enrol ``count`` patients and open a device for each; return the device cookie values."""
    clinic = create_clinic()
    first = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    tokens = []
    for n in range(count):
        data = courses.Enrolment(f"Load Patient {n:04d}", "face", first, "Europe/Rome", 4, 3)
        patient, _ = courses.enrol(clinic, data, invite_days=14)
        tokens.append(access.add_device(patient, utcnow()))
    db.session.commit()
    return tokens


@dataclass
class Client:
    """One phone-like client: a session with its CSRF token, posting check-ins."""

    base: str
    devices: list[str]
    acknowledged: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    http: requests.Session = field(default_factory=requests.Session)
    csrf: str = ""

    def open(self) -> None:
        # MESO_INSECURE_COOKIES=1 (plain http): the session cookie comes back like a browser's.
        page = self.http.get(f"{self.base}/checkins/new",
                             cookies={"meso_device": self.devices[0]}, timeout=30)
        assert page.status_code == 200, page.status_code
        self.csrf = csrf_meta(page.text)

    def check_in(self, device: str) -> None:
        key = uuid.uuid4().hex
        answer = self.http.post(
            f"{self.base}/checkins", cookies={"meso_device": device}, timeout=30,
            json={"key": key, "feeling": random.randint(1, 5), "symptoms": []},
            headers={"X-CSRFToken": self.csrf},
        )
        self.statuses.append(answer.status_code)
        CHECK.remember("check-in key", key)
        if answer.status_code == 201 and answer.json()["key"] == key:
            self.acknowledged.append(key)


def stored_keys(path: str) -> set[str]:
    with sqlite3.connect(path) as connection:
        return {key for (key,) in connection.execute("SELECT idempotency_key FROM check_in")}


def integrity(path: str) -> str:
    with sqlite3.connect(path) as connection:
        return connection.execute("PRAGMA integrity_check").fetchone()[0]


def server_problems(server: Gunicorn) -> list[str]:
    """Lines that show trouble: a locked database, an error, a 5xx answer, a non-JSON line."""
    problems = []
    for line in server.lines():
        try:
            entry = json.loads(line)
        except ValueError:
            problems.append(line)
            continue
        if "locked" in line or entry.get("level") in ("ERROR", "CRITICAL") \
                or int(entry.get("status", 0) or 0) >= 500:
            problems.append(line)
    return problems


def test_four_workers_and_four_clients_lose_no_check_in(app, tmp_path):
    devices = patients_with_devices(CLIENTS * CHECKINS_PER_CLIENT // PER_PATIENT)
    share = len(devices) // CLIENTS
    with Gunicorn(tmp_path, app.config["SQLALCHEMY_DATABASE_URI"], workers=4) as server:
        clients = [Client(server.base, devices[i * share:(i + 1) * share])
                   for i in range(CLIENTS)]
        for client in clients:
            client.open()

        def run(client: Client) -> None:
            for n in range(CHECKINS_PER_CLIENT):
                client.check_in(client.devices[n % len(client.devices)])

        threads = [threading.Thread(target=run, args=(c,)) for c in clients]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        elapsed = time.monotonic() - started
        assert not any(t.is_alive() for t in threads), "the clients did not finish in 2 minutes"
    statuses = [s for c in clients for s in c.statuses]
    acknowledged = [k for c in clients for k in c.acknowledged]
    print(f"\n{len(statuses)} check-ins in {elapsed:.1f} s: {len(statuses) / elapsed:.0f}/s")
    assert statuses == [201] * CLIENTS * CHECKINS_PER_CLIENT
    assert len(set(acknowledged)) == CLIENTS * CHECKINS_PER_CLIENT
    assert stored_keys(database_file(app)) >= set(acknowledged)
    assert server_problems(server) == []
    assert integrity(database_file(app)) == "ok"


def test_a_server_killed_mid_write_keeps_every_acknowledged_check_in(app, tmp_path):
    rounds, writers = 5, 2
    # One check-in per patient a round: 5 rounds stay within PER_PATIENT for everyone, and
    # 60 writes a writer outlast the longest wait before the kill. Two workers (one for each
    # writer) keep the six start-ups short.
    devices = patients_with_devices(120)
    seed = random.randrange(1 << 30)
    chance = random.Random(seed)
    path = database_file(app)
    server = Gunicorn(tmp_path, app.config["SQLALCHEMY_DATABASE_URI"], workers=2)
    acknowledged: list[str] = []
    statuses: list[int] = []
    try:
        for round_no in range(rounds):
            server.start()
            clients = [Client(server.base, devices[i::writers]) for i in range(writers)]
            for client in clients:
                client.open()
            threads = [threading.Thread(target=write_until_gone, args=(c,)) for c in clients]
            for thread in threads:
                thread.start()
            time.sleep(chance.uniform(0.2, 1.5))
            server.kill()
            for thread in threads:
                thread.join(timeout=60)
            assert not any(t.is_alive() for t in threads)
            for client in clients:
                acknowledged += client.acknowledged
                statuses += client.statuses
            missing = set(acknowledged) - stored_keys(path)
            assert not missing, f"seed {seed}, round {round_no}: {len(missing)} acknowledged lost"
            assert integrity(path) == "ok", f"seed {seed}, round {round_no}"
        server.start()  # and once more after the last crash: it serves and writes
        client = Client(server.base, devices[:1])
        client.open()
        client.check_in(devices[0])
        assert client.statuses == [201]
    finally:
        server.stop()
    print(f"\n{len(acknowledged)} acknowledged check-ins over {rounds} SIGKILLs (seed {seed})")
    assert acknowledged, "no write was acknowledged before the kills"
    assert all(status == 201 for status in statuses), statuses
    assert set(acknowledged) <= stored_keys(path)
    assert integrity(path) == "ok"


def write_until_gone(client: Client) -> None:
    for device in client.devices:
        try:
            client.check_in(device)
        except requests.RequestException:
            return  # the server is gone: this request's fate is unknown, and not counted
