"""Pushes a second: the reminder worker (`flask reminders run --once`, one process and two)
against a bare ``pywebpush.webpush`` loop on one thread, both sending to the same local fake
push service (bench/pushservice.py), which checks and decrypts every message.

Every due row is one patient's test notification (the worker's one rule that ignores quiet
hours, so the figure is the same at any hour), for a patient with one device.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from meso import push, trial_push
from meso.extensions import db
from meso.models import Course, Patient, PushSubscription, Reminder

ROOT = Path(__file__).resolve().parent.parent
SUBJECT = "mailto:bench@clinic.example"
# Tuned for throughput as a large deployment would run it: a batch's statements cost about
# the same for 50 rows as for 100 (about 15 % of a message at --batch 50 on the bench's
# machine), and two batches of 100 at 8 sends at once still fit the default 300-second
# lease with every push service hung (the worker warns when they would not).
WORKER_OPTIONS = ("--batch", "100", "--concurrency", "8")


@dataclass
class Sending:
    per_second: float
    sent: int
    received: int
    rss_mb: float = 0.0


class PushService:
    """bench/pushservice.py, started and stopped by us."""

    def __init__(self, count: int):
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "pushservice.py"), str(count)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        hello = json.loads(self.process.stdout.readline())
        self.origin: str = hello["origin"]
        self.subscriptions: list[dict] = hello["subscriptions"]

    def ask(self, what: str) -> float:
        """Its answer to "count", "errors" or "span" (bench/pushservice.py)."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(what + "\n")
        self.process.stdin.flush()
        return float(self.process.stdout.readline())

    def rate(self, messages: int) -> float:
        """Messages a second over the last ``messages``, as they arrived: from the first to the
        last (a sender's start-up and shut-down are not sending)."""
        return (messages - 1) / max(self.ask("span"), 1e-6)

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)


def bare_loop(service: PushService, private_key: str) -> Sending:
    """What a first version of a sender does: pywebpush.webpush, one message after another."""
    from pywebpush import webpush

    key = push.load_key(private_key)
    before = service.ask("count")
    service.ask("span")  # from here
    for subscription in service.subscriptions:
        webpush(subscription, json.dumps({"title": "Reminder", "body": "bench"}),
                vapid_private_key=key, vapid_claims={"sub": SUBJECT}, ttl=600,
                headers={"Topic": "bench", "Urgency": "normal"})
    received = int(service.ask("count") - before)
    count = len(service.subscriptions)
    return Sending(service.rate(count), count, received)


def queue(service: PushService, patient_ids: list[int]) -> None:
    """Give each patient one subscription on the fake service and a test notification due now
    (replacing any left by an earlier run)."""
    now = datetime.now(UTC)
    # Only these are due: reminders planned by the bench's other parts would be sent too.
    db.session.execute(sa.delete(Reminder))
    db.session.execute(sa.delete(PushSubscription))
    db.session.execute(sa.insert(PushSubscription), [
        {"patient_id": pid, "endpoint": sub["endpoint"], "p256dh": sub["keys"]["p256dh"],
         "auth": sub["keys"]["auth"], "created_at": now}
        for pid, sub in zip(patient_ids, service.subscriptions, strict=True)])
    db.session.execute(sa.insert(Reminder), [
        {"patient_id": pid, "session": trial_push.SESSION, "rule": trial_push.RULE,
         "category": trial_push.RULE, "topic": trial_push.RULE, "anchor_at": now,
         "fire_at": now, "next_attempt_at": now - timedelta(seconds=1),
         "expires_at": now + timedelta(hours=1), "status": "pending", "attempts": 0,
         "created_at": now, "updated_at": now}
        for pid in patient_ids])
    db.session.commit()
    # Settled as autovacuum leaves them on a server between bursts: otherwise it may start
    # on these rewritten tables in the middle of one timed run and not another.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE reminder, push_subscription"))


def patients_with_a_course(count: int) -> list[int]:
    return list(db.session.scalars(
        sa.select(Patient.id).join(Course).order_by(Patient.id).limit(count)))


def sent_rows() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Reminder).where(
        Reminder.rule == trial_push.RULE, Reminder.status == "sent")) or 0


def workers(count: int, env: dict[str, str]) -> float:
    """Run ``count`` workers at once until nothing is due; return the largest RSS in MB."""
    flask = str(Path(sys.executable).with_name("flask"))
    command = [flask, "--app", "app", "reminders", "run", "--once", *WORKER_OPTIONS]
    processes = [subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                 for _ in range(count)]
    # The peak RSS of each worker's own program (VmHWM), read while it runs: the exit's
    # ru_maxrss would count the bench's memory at the fork too (Linux keeps the larger).
    peaks = dict.fromkeys([p.pid for p in processes], 0.0)
    while any(process.poll() is None for process in processes):
        for process in processes:
            peaks[process.pid] = max(peaks[process.pid], high_water_mb(process.pid))
        time.sleep(0.02)
    for process in processes:
        assert process.stderr is not None
        errors = process.stderr.read()
        if process.returncode != 0:
            raise RuntimeError(f"reminder worker failed: {errors[-500:]}")
        if re.search(r"\bfailed=[1-9]", errors):
            raise RuntimeError(f"reminder worker failed sends: {errors[-500:]}")
    return max(peaks.values())


def high_water_mb(pid: int) -> float:
    """A running process's peak resident memory (VmHWM), in MB; 0 once it has exited."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else 0.0


def worker_runs(service: PushService, env: dict[str, str], count: int) -> Sending:
    """Queue one message per subscription, run ``count`` workers; return their rate, and
    check every message arrived exactly once."""
    ids = patients_with_a_course(len(service.subscriptions))
    queue(service, ids)
    before = service.ask("count")
    service.ask("span")  # from here
    rss = workers(count, env)
    received = int(service.ask("count") - before)
    db.session.expire_all()
    sent = sent_rows()
    return Sending(service.rate(len(ids)), sent, received, rss)
