"""Pushes a second: the reminder worker (`flask reminders run`, one process and two, started
and waiting before the rows are let go) against a bare ``pywebpush.webpush`` loop on one
thread, both sending to the same local fake push service (bench/pushservice.py), which
checks and decrypts every message once the clock has stopped.

Every due row is one patient's test notification (the worker's one rule that ignores quiet
hours, so the figure is the same at any hour), for a patient with one device.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from meso import attention_watch, push, trial_push
from meso.extensions import db
from meso.models import Course, Patient, PushSubscription, Reminder

ROOT = Path(__file__).resolve().parent.parent
SUBJECT = "mailto:bench@clinic.example"
# Tuned for throughput as a large deployment would run it: a batch's statements cost about
# the same for 50 rows as for 100 (about 15 % of a message at --batch 50 on the bench's
# machine), and two batches of 100 at 8 sends at once still fit the default 300-second
# lease with every push service hung (the worker warns when they would not).
WORKER_OPTIONS = ("--batch", "100", "--concurrency", "8")
POLL = 0.1  # seconds between a waiting worker's looks (the least it takes)
STARTUP = 120.0  # seconds a worker may take to start on a busy machine


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


class Workers:
    """``count`` reminder workers (`flask reminders run`, polling every POLL seconds), started
    and ready before the rows they will send are let go: a worker's start-up (about two
    seconds of imports here) is not sending, and with two started at once one began sending
    while the other still imported, which counted against two workers alone."""

    def __init__(self, count: int, env: dict[str, str]):
        flask = str(Path(sys.executable).with_name("flask"))
        command = [flask, "--app", "app", "reminders", "run", "--poll", str(POLL),
                   *WORKER_OPTIONS]
        self.processes = [subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env},
                                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                           text=True)
                          for _ in range(count)]
        self.logs: dict[int, list[str]] = {p.pid: [] for p in self.processes}
        # The peak RSS of each worker's own program (VmHWM), read while it runs: the exit's
        # ru_maxrss would count the bench's memory at the fork too (Linux keeps the larger).
        self.peaks = dict.fromkeys(self.logs, 0.0)
        ready = [threading.Event() for _ in self.processes]
        self.readers = [threading.Thread(target=self._read, args=(process, event), daemon=True)
                        for process, event in zip(self.processes, ready, strict=True)]
        for reader in self.readers:
            reader.start()
        for process, event in zip(self.processes, ready, strict=True):
            if not event.wait(STARTUP) or process.poll() is not None:
                self.stop()
                raise RuntimeError(f"reminder worker did not start: {self.errors(process)}")
        time.sleep(2 * POLL)  # past their first look, waiting for rows to be due

    def _read(self, process: subprocess.Popen, ready: threading.Event) -> None:
        assert process.stderr is not None
        for line in process.stderr:
            self.logs[process.pid].append(line)
            if "reminder worker started" in line:
                ready.set()
        ready.set()  # it has ended: __init__ finds it stopped

    def errors(self, process: subprocess.Popen) -> str:
        return "".join(self.logs[process.pid])[-500:]

    def watch(self) -> None:
        for process in self.processes:
            self.peaks[process.pid] = max(self.peaks[process.pid], high_water_mb(process.pid))

    def stop(self) -> float:
        """Stop them (SIGTERM: each finishes its batch), check they sent without failure;
        return the largest RSS in MB."""
        self.watch()
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        for process, reader in zip(self.processes, self.readers, strict=True):
            process.wait(timeout=60)
            reader.join(timeout=10)
            if process.returncode != 0:
                raise RuntimeError(f"reminder worker failed: {self.errors(process)}")
            if re.search(r"\bfailed=[1-9]", "".join(self.logs[process.pid])):
                raise RuntimeError(f"reminder worker failed sends: {self.errors(process)}")
        return max(self.peaks.values())


@contextmanager
def held(ids: list[int]):
    """Keep these rows locked (FOR UPDATE) while the block runs: the workers' claim skips
    locked rows (SKIP LOCKED), so to them nothing is due until the block ends."""
    with db.engine.connect() as connection:
        locked = connection.execute(
            sa.select(Reminder.id).where(Reminder.patient_id.in_(ids)).with_for_update())
        assert len(locked.all()) == len(ids)
        yield
        connection.rollback()


def settle_attention() -> int:
    """Settle every roster row due for review (meso/attention_watch.py), as a running worker
    does when nothing is due: otherwise the waiting workers would be at it when the rows are
    let go. Return how many."""
    settled = 0
    while done := attention_watch.refresh_some(datetime.now(UTC)):
        db.session.commit()
        settled += done
    return settled


def high_water_mb(pid: int) -> float:
    """A running process's peak resident memory (VmHWM), in MB; 0 once it has exited."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else 0.0


def worker_runs(service: PushService, env: dict[str, str], count: int) -> Sending:
    """Queue one message per subscription, send them with ``count`` running workers; return
    their rate, and check every message arrived exactly once."""
    ids = patients_with_a_course(len(service.subscriptions))
    queue(service, ids)
    before = service.ask("count")
    with held(ids):
        workers = Workers(count, env)
        service.ask("span")  # from here
    try:
        while service.ask("arrived") < len(ids):
            workers.watch()
            if any(process.poll() is not None for process in workers.processes):
                break  # stopped early: stop() says why
            # Seldom: the rate is read at the push service, and the peak RSS is a high-water
            # mark; a busier look would take CPU from the workers it measures.
            time.sleep(0.1)
    finally:
        rss = workers.stop()
    received = int(service.ask("count") - before)
    db.session.expire_all()
    sent = sent_rows()
    return Sending(service.rate(len(ids)), sent, received, rss)
