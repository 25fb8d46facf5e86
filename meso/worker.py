"""The reminder worker: claim due outbox rows, render and send them, record what happened.

Database work stays on the calling thread; only the sends (encryption and HTTP, each within
a total deadline) run on the push_http.Sender's event loop, at most --concurrency at once, so
one slow push service holds one slot, not the batch. A batch costs a few statements, not a few
per message: its patients' context is read in a handful of queries, and the answers that have
arrived are written together, one commit each time. The next batch is claimed and prepared
while the previous one is on its way (InFlight).
A row's text is rendered at send time from its rule and session, so the outbox stores no
message, and a late row is checked once more: still useful (sent at once), pointless
(skipped, never sent late), or in quiet hours (moved). A patient's test notification is a row
too (trial_push.py), sent whatever the hour.

A reminder for a patient with no working push subscription goes by e-mail instead when they
have a confirmed address and SMTP_URL is set (email_reminders.py: the marked lines below are
all the worker knows of it). Without VAPID settings but with SMTP_URL the worker runs for
e-mail alone (``pusher`` None).

The same loop sends the e-mails queued for the clinics (clinic_mail.py) when SMTP_URL is set:
claimed under a lease like reminders, sent in the pool, retried with the same backoff. An
e-mail batch that fails is logged and left to its lease; it never stops the pushes. Log lines
name rows by id and outcome, never an address or a text.
"""

from __future__ import annotations

import itertools
import logging
import queue
import time as clock
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import nullcontext, suppress
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import partial

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app

from meso import (
    attention_watch,
    checkins,
    clinic_replans,
    email_reminders,
    locales,
    mailer,
    outbox,
    patient_email,
    policy,
    push,
    push_http,
    reminders,
    subscriptions,
    trial_push,
)
from meso import protocol as p
from meso.extensions import db
from meso.models import Clinic, OutboundEmail, Patient, Reminder
from meso.notifications import render, trial_message
from meso.sql_lists import among

log = logging.getLogger("meso.reminders")
REPLAN_LOOK = 1.0  # seconds between looks for clinics to re-plan while batches are full
ATTENTION_LOOK = 60.0  # seconds between looks for roster rows due for review, when idle
# Seconds the answers that have arrived may wait for more before they are written together:
# a crash re-sends at most what was answered in that moment (as with any crash mid-write).
GATHER = 0.05


@dataclass
class Job:
    """One claimed row, ready to send (or already decided).

    It holds plain values, not the ORM row: the send threads must never touch the database.
    """

    id: int
    attempts: int
    expires_at: datetime
    message: push.Message | None = None
    subscriptions: list[push.Subscription] = field(default_factory=list)
    decision: dict | None = None  # outcome values when nothing is to be sent
    # E-mail fallback (email_reminders.py): the e-mail to send instead of a push, or whether a
    # push that finds every device gone may be e-mailed at once.
    email: email_reminders.Mail | None = None
    emailable: bool = False


@dataclass
class MailStats:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0

    def line(self, seconds: float) -> str:
        return (f"emails batch: claimed={self.claimed} sent={self.sent} "
                f"retried={self.retried} failed={self.failed} in {seconds:.2f}s")

    def add(self, other: MailStats) -> None:
        for name in ("claimed", "sent", "retried", "failed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class BatchStats:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    pruned: int = 0
    skipped: int = 0
    emails: MailStats = field(default_factory=MailStats)

    def line(self, seconds: float) -> str:
        return (f"reminders batch: claimed={self.claimed} sent={self.sent} "
                f"retried={self.retried} failed={self.failed} pruned={self.pruned} "
                f"skipped={self.skipped} in {seconds:.2f}s")


@dataclass
class InFlight:
    """Sends submitted and not recorded yet, carried from one batch to the next: the next
    batch is claimed and prepared while this one goes out. Each answer
    arrives on one queue (from the Sender's loop, or the e-mail pool), so the worker's thread
    takes all that have arrived at once."""

    jobs: dict[int, tuple[Job, datetime, datetime]] = field(default_factory=dict)
    answers: queue.SimpleQueue = field(default_factory=queue.SimpleQueue)  # (key, result)
    answered: list = field(default_factory=list)  # taken from ``answers``, not written yet
    delivered: list[str] = field(default_factory=list)  # devices reached, not noted yet
    keys: Iterator[int] = field(default_factory=itertools.count)


def run_batch(pusher: push.Pusher | None, pool: ThreadPoolExecutor, size: int,
              lease: timedelta, now: datetime, sender: mailer.Mailer | None = None,
              sends: push_http.Sender | None = None,
              flight: InFlight | None = None) -> BatchStats:
    """Claim, prepare and send one batch, and record what is answered; return what happened.
    Pushes go out on ``sends`` (given with ``pusher``), e-mails on ``pool``.

    Without ``flight`` every send is recorded before returning. With it, a full batch
    returns once at most a batch is still on its way (``flight`` keeps those for the next
    call): preparing the next batch then overlaps the sends instead of leaving the sender
    idle (half a batch kept the sender busy a little less often). A batch that is not full
    (nothing more is due) records them all. Only the sends in flight, at most
    ``--concurrency``, are ever answered and not yet recorded.
    """
    carry = flight is not None
    flight = flight if flight is not None else InFlight()
    ids, token = outbox.claim_due(now, size, lease)
    stats = BatchStats(claimed=len(ids))
    if ids:
        jobs, stats.pruned = prepare(ids, pusher.services if pusher else None, now,
                                     email=sender is not None)
        decided, pushes = [], []
        for job in jobs:
            if job.decision is not None:
                _count(stats, job.decision)
                decided.append((job.id, job.decision))
                continue
            key = next(flight.keys)
            flight.jobs[key] = (job, token, now)
            if job.email is not None:  # e-mail fallback
                assert sender is not None
                future = pool.submit(email_reminders.send, sender, job.email, now, job.id)
                future.add_done_callback(partial(_answered, flight.answers, key))
            else:
                assert pusher is not None and sends is not None, \
                    "without push every patient is without a device"
                pushes.append((key, _send_all(pusher, sends, job)))
        if pushes:
            assert sends is not None
            sends.start(pushes, flight.answers)
        outbox.record_many(token, decided)
        db.session.commit()
    record_answers(flight, size if carry and len(ids) == size else 0, size, stats)
    return stats


def _answered(answers: queue.SimpleQueue, key: int, future) -> None:
    answers.put((key, future))


def record_answers(flight: InFlight, keep: int, size: int, stats: BatchStats) -> None:
    """Record the answers of the sends in flight as they come, until at most ``keep`` are
    still on their way."""
    while len(flight.jobs) > keep:
        # Gathered for a moment (GATHER) or until enough are in to return: a write for
        # every few answers as they trickle in was most of the worker's database time.
        needed = len(flight.jobs) - keep
        until = clock.monotonic() + GATHER
        if not flight.answered:
            flight.answered.append(flight.answers.get())
        with suppress(queue.Empty):
            while len(flight.answered) < needed:
                flight.answered.append(
                    flight.answers.get(timeout=max(0.0, until - clock.monotonic())))
        with suppress(queue.Empty):
            while True:
                flight.answered.append(flight.answers.get_nowait())
        outcomes: dict[datetime, list[tuple[int, dict]]] = {}  # by lease token
        gone: list[str] = []
        delivered: list[str] = []
        for key, result in flight.answered:
            job, token, now = flight.jobs[key]
            if isinstance(result, BaseException):  # a bug in the send's own code
                raise result
            if job.email is not None:  # e-mail fallback
                values = email_reminders.settle(job.id, job.attempts, job.expires_at,
                                                job.email, result.result(), now)
                _count(stats, values)
            else:
                values, job_gone, job_delivered = settle(job, result, now)
                _count(stats, values)
                gone += job_gone
                delivered += job_delivered
                if job.emailable:  # e-mail fallback: every device gone, e-mail it next batch
                    values = email_reminders.fall_back(values, now)
            outcomes.setdefault(token, []).append((job.id, values))
        # What has been answered, recorded at once: one commit for the sends answered so
        # far, never one held back for a send still in flight (a crash re-sends at most
        # what was in flight or answered in the last moment). One statement for the group,
        # not a few per message: the database was most of a message's cost. The devices'
        # last success is noted once a batch: a crash loses only that note.
        stats.pruned += outbox.prune(gone)
        last = len(flight.answered) == len(flight.jobs)
        if len(flight.delivered) + len(delivered) >= size or last:
            outbox.mark_success(flight.delivered + delivered, now)
        for token, written in outcomes.items():
            outbox.record_many(token, written)
        db.session.commit()
        # Forgotten only once written: after a failed commit they are recorded next time.
        for key, _ in flight.answered:
            del flight.jobs[key]
        flight.answered = []
        flight.delivered += delivered
        if len(flight.delivered) >= size or last:
            flight.delivered = []


async def _send_all(pusher: push.Pusher, sends: push_http.Sender,
                    job: Job) -> list[tuple[str, push.Outcome]]:
    assert job.message is not None, "only a job without a decision is sent"
    results = []
    for sub in job.subscriptions:
        try:
            outcome = await pusher.send_with(sends, sub, job.message)
        except Exception as exc:  # a bug must cost one message, not the batch and its lease
            log.exception("reminder %s: sending raised %s", job.id, type(exc).__name__)
            outcome = push.Outcome(push.FAILED, error=f"unexpected {type(exc).__name__}")
        results.append((sub.endpoint, outcome))
    return results


def settle(job: Job, results, now: datetime) -> tuple[dict, list[str], list[str]]:
    """Turn the per-device outcomes of one reminder into the row's outcome; return it with
    the endpoints that are gone (to delete) and those that got it (the caller writes both).

    Delivered to any device: sent (a retry would repeat it on the others). Otherwise any
    temporary failure retries the row; devices that are gone are deleted.
    """
    gone = [endpoint for endpoint, o in results if o.kind == push.GONE]
    delivered = [endpoint for endpoint, o in results if o.kind == push.SENT]
    retries = [o for _, o in results if o.kind == push.RETRY]
    failures = [o for _, o in results if o.kind == push.FAILED]
    for o in failures:
        log.warning("reminder %s to a device failed: %s", job.id, o.error)
    if delivered:
        values = {**outbox.sent(now, job.attempts + 1), "channel": "push"}
    elif retries:
        after = max((o.retry_after for o in retries if o.retry_after is not None), default=None)
        values = outbox.retry(job.attempts, job.expires_at, now, after, retries[0].error)
    elif failures:
        values = outbox.closed("failed", failures[0].error, now, job.attempts + 1)
    else:
        values = outbox.closed("skipped", outbox.NO_DEVICE, now)
    return values, gone, delivered


def _count(stats: BatchStats, values: dict) -> None:
    status = values.get("status")
    if status == "sent":
        stats.sent += 1
    elif status == "failed":
        stats.failed += 1
    elif status in ("skipped", "cancelled"):
        stats.skipped += 1
    else:
        stats.retried += 1


def prepare(ids: list[int], services, now: datetime,
            email: bool = False) -> tuple[list[Job], int]:
    """Load the claimed rows with what their messages need, in a few queries; return the jobs
    and how many subscriptions outside ``services`` were deleted on the way. ``services``
    None: push is off (no VAPID settings), every patient counts as without a device.
    ``email``: the worker can send reminders by e-mail."""
    rows = db.session.scalars(sa.select(Reminder).where(among(Reminder.id, ids))).all()
    patient_ids = {row.patient_id for row in rows}
    patients = {
        patient.id: patient
        for patient in db.session.scalars(
            sa.select(Patient)
            .where(among(Patient.id, patient_ids))
            # Not the course's sessions: a due row carries its own times.
            .options(so.joinedload(Patient.course),
                     so.joinedload(Patient.clinic).joinedload(Clinic.settings))
        )
    }
    devices, outside = subscriptions.live(patient_ids, services) if services else ({}, 0)
    # Settings, zone and protocol of the whole batch in two queries, not two per patient.
    context = policy.reminder_contexts(list(patients.values()))
    # The check-in nudges' days already checked in, in one query (not one a row).
    checked = checkins.checked_in_days({
        (row.patient_id, nudge_day(row, context[row.patient_id][1])) for row in rows
        if row.rule.startswith("checkin_")})
    trials: dict = {}  # the test notification's few versions, each made once a batch
    jobs = []
    for row in rows:
        patient = patients[row.patient_id]
        jobs.append(decide(row, patient, *context[patient.id], devices.get(patient.id, []), now,
                           email=email, trials=trials, checked=checked))
    return jobs, outside


def nudge_day(row: Reminder, zone) -> date:
    """The patient's local day a check-in nudge asks about: the day it was due."""
    return row.fire_at.astimezone(zone).date()


def decide(row, patient, settings, zone, protocol, devices, now, *,
           checked: Collection[tuple[int, date]], email: bool = False,
           trials: dict | None = None) -> Job:
    """Return the job for a due row: its message (a push, or with ``email`` an e-mail when
    the patient has no device but an address), or why it is not sent now. ``trials`` keeps
    the test notifications made so far (one per language and discretion); ``checked``, the
    (patient id, local day) pairs of the batch's check-in nudges that were checked in
    (checkins.checked_in_days)."""
    job = Job(row.id, row.attempts, row.expires_at)
    trial = row.rule == trial_push.RULE  # the patient's own test, asked for a moment ago
    rule = p.REMINDER_RULES.get(row.rule)
    emailable = email and rule is not None and email_reminders.reachable(patient)
    enabled = () if rule is None else tuple(
        c for c in rule.categories if c in settings.categories
    )
    if rule is None and not trial:
        job.decision = outbox.closed("cancelled", "no such rule any more", now)
    elif patient.archived_at is not None or not (enabled or trial):
        job.decision = outbox.closed("cancelled", "turned off", now)
    elif not reminders.useful(row.expires_at, now):
        job.decision = outbox.closed("skipped", "pointless by the time it was due", now)
    elif not trial and reminders.in_quiet_hours(now.astimezone(zone), settings):
        later = reminders.after_quiet_hours(now.astimezone(zone), settings)
        job.decision = (outbox.postpone(later, now) if reminders.useful(row.expires_at, later)
                        else outbox.closed("skipped", "quiet hours", now))
    elif row.rule.startswith("checkin_") and (patient.id, nudge_day(row, zone)) in checked:
        job.decision = outbox.closed("skipped", "already checked in", now)
    elif not devices and emailable:  # e-mail fallback
        assert rule is not None
        job.email = email_reminders.compose(row, rule, enabled, settings, zone, protocol,
                                            patient)
    elif not devices:
        job.decision = outbox.closed("skipped", outbox.NO_DEVICE, now)
    else:
        # In the patient's language as it is now (force_locale in notifications).
        locale = locales.patient_locale(patient)
        if trial or rule is None:
            trials = {} if trials is None else trials
            key = (settings.discreet, locale)
            if key not in trials:
                trials[key] = trial_message(settings, locale)
            message = trials[key]
        else:
            message = render(row, rule, enabled, settings, zone, protocol, now, locale)
        # A re-send (or a newer version) replaces the older one at the push service: the
        # Topic names the rule and the course, and only its keyed digest leaves (Pusher.topic).
        job.message = replace(message, topic=f"{row.rule}:course {patient.course.id}")
        job.subscriptions = devices
        job.emailable = emailable
    return job


@dataclass
class MailJob:
    """One claimed e-mail, as plain values: the send threads never touch the database."""

    id: int
    attempts: int
    to: str
    subject: str
    body: str


def run_mail_batch(sender: mailer.Mailer, pool: ThreadPoolExecutor, size: int,
                   lease: timedelta, now: datetime) -> MailStats:
    """Claim, send and record one batch of e-mails to the clinics; return what happened."""
    ids, token = outbox.claim_due(now, size, lease, OutboundEmail)
    stats = MailStats(claimed=len(ids))
    if not ids:
        return stats
    jobs = []
    for row in db.session.scalars(sa.select(OutboundEmail).where(OutboundEmail.id.in_(ids))):
        # A patient's confirmation e-mail gets its link only now (patient_email.py).
        body = patient_email.body_at_send(row, now)
        if body is None:
            outbox.record(row.id, token, outbox.closed("failed", "no longer asked for", now),
                          OutboundEmail)
            stats.failed += 1
            continue
        jobs.append(MailJob(row.id, row.attempts, row.to_address, row.subject, body))
    db.session.commit()  # no transaction held open while the sends take their time
    futures = {pool.submit(_mail, sender, job, now): job for job in jobs}
    for future in as_completed(futures):
        job = futures[future]
        values = mail_outcome(job, future.result(), now, stats)
        outbox.record(job.id, token, values, OutboundEmail)
        db.session.commit()  # one row at a time, as for pushes
    return stats


def _mail(sender: mailer.Mailer, job: MailJob, now: datetime) -> mailer.Outcome:
    try:
        return sender.send(job.to, job.subject, job.body, now)
    except Exception as exc:  # a bug must cost one e-mail, not the batch and its lease
        # No traceback: an exception's text may quote the address or the message.
        log.error("email %s: sending raised %s", job.id, type(exc).__name__)
        return mailer.Outcome(mailer.FAILED, f"unexpected {type(exc).__name__}")


def mail_outcome(job: MailJob, outcome: mailer.Outcome, now: datetime,
                 stats: MailStats) -> dict:
    """The row's outcome. A sent e-mail keeps who it went to and when, not its text: the
    body is blanked, since the inbox now holds it and we keep the least."""
    if outcome.kind == mailer.SENT:
        values = {**outbox.sent(now, job.attempts + 1), "body": ""}
        stats.sent += 1
        log.info("email %s: sent", job.id)
        return values
    if outcome.kind == mailer.RETRY:
        values = outbox.retry(job.attempts, None, now, None, outcome.error)
    else:
        values = outbox.closed("failed", outcome.error, now, job.attempts + 1)
    if values.get("status") == "failed":
        stats.failed += 1
        log.warning("email %s: failed after %d attempt(s): %s", job.id, values["attempts"],
                    outcome.error)
    else:
        stats.retried += 1
        log.info("email %s: will retry at %s: %s", job.id,
                 values["next_attempt_at"].isoformat(timespec="seconds"), outcome.error)
    return values


def _mail_batch(sender: mailer.Mailer | None, pool: ThreadPoolExecutor, size: int,
                lease: timedelta, now: datetime) -> MailStats:
    """One e-mail batch, if e-mail is on. Whatever goes wrong stays here: it is logged, the
    claimed rows wait for their lease, and the pushes go on."""
    if sender is None:
        return MailStats()
    started = clock.monotonic()
    try:
        stats = run_mail_batch(sender, pool, size, lease, now)
    except Exception as exc:
        db.session.rollback()
        log.warning("emails batch failed: %s; trying again", type(exc).__name__)
        return MailStats()
    if stats.claimed:
        log.info(stats.line(clock.monotonic() - started))
    return stats


def _replan_batch(size: int, lease: timedelta, now: datetime) -> int:
    """Re-plan one batch of a clinic whose settings changed (meso/clinic_replans.py), before
    the sends, so what goes out follows the new settings soon. A failure is logged and left
    to its lease; it never stops the pushes."""
    started = clock.monotonic()
    try:
        done = clinic_replans.run_batch(now, lease, size)
    except Exception as exc:
        db.session.rollback()
        log.warning("re-plan batch failed: %s; trying again", type(exc).__name__)
        return 0
    if done:
        log.info("re-plan batch: patients=%d in %.2fs", done, clock.monotonic() - started)
    return done


def _attention_batch(now: datetime) -> int:
    """Settle some roster rows due for review (meso/attention_watch.py), when nothing else
    is due, so that a staff member's roster rarely has many to work out first (after the
    migration that added them, every row is). A failure is logged; the roster settles its
    own rows anyway."""
    try:
        done = attention_watch.refresh_some(now)
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        log.warning("attention rows failed: %s; trying again", type(exc).__name__)
        return 0
    if done:
        log.info("attention rows settled: %d", done)
    return done


def run(once: bool, batch: int, concurrency: int, lease: timedelta, poll: float,
        should_stop: Callable[[], bool], now: Callable[[], datetime],
        sleep: Callable[[float], object] = clock.sleep) -> BatchStats:
    """Work batches until ``should_stop`` (checked between batches) or, with ``once``, until
    nothing is due. Return the totals."""
    sender = mailer.mailer_for(current_app.config)
    pusher = push_if_configured(sender is not None)
    total = BatchStats()
    # Pushes go out on one event loop of their own (push_http.Sender), e-mails on the pool's
    # threads; both are closed once their sends are done.
    with (ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="email") as pool,
          push_http.Sender(concurrency) if pusher else nullcontext() as sends):
        flight = InFlight()  # a full batch's last sends, recorded during the next batch
        replans_due = 0.0  # when to look for clinics to re-plan next (monotonic)
        attention_due = 0.0  # when to look for roster rows due for review (not with once)
        while not should_stop():
            # Looked for every batch while a re-plan goes on; else at most every REPLAN_LOOK
            # seconds while sending (a look was a tenth of a busy batch's statements), and
            # always before waiting or stopping.
            looked = clock.monotonic() >= replans_due
            replanned = _replan_batch(batch, lease, now()) if looked else 0
            if looked and not replanned:
                replans_due = clock.monotonic() + REPLAN_LOOK
            started = clock.monotonic()
            try:
                stats = run_batch(pusher, pool, batch, lease, now(), sender, sends, flight)
            except sa.exc.OperationalError as exc:
                # The database went away for a moment: leased rows wait for their lease.
                db.session.rollback()
                log.warning("reminders batch failed: %s; trying again", type(exc).__name__)
                if once:
                    raise
                sleep(poll)
                continue
            if stats.claimed:
                log.info(stats.line(clock.monotonic() - started))
            for name in ("claimed", "sent", "retried", "failed", "pruned", "skipped"):
                setattr(total, name, getattr(total, name) + getattr(stats, name))
            # At most one e-mail per thread at a time: a hung mail server then holds a batch
            # for a few time-outs (mailer.TIMEOUT each), well inside the lease.
            mail_size = min(batch, concurrency)
            emails = _mail_batch(sender, pool, mail_size, lease, now())
            total.emails.add(emails)
            if stats.claimed < batch and emails.claimed < mail_size and not replanned:
                if not looked:
                    replans_due = 0.0
                    continue
                if once:
                    break
                if clock.monotonic() >= attention_due:
                    if _attention_batch(now()) == attention_watch.CHUNK:
                        continue  # more are due: on with them before waiting
                    attention_due = clock.monotonic() + ATTENTION_LOOK
                sleep(poll)
        record_answers(flight, 0, batch, total)  # stopped after a full batch
    return total


def push_if_configured(email: bool) -> push.Pusher | None:
    """The Pusher; or, when push is not set up (no VAPID settings) but e-mail is, None: the
    worker then sends reminders by e-mail alone. Neither: PushConfigError."""
    try:
        return push.pusher_for(current_app)
    except push.PushConfigError:
        if not email:
            raise
        return None
