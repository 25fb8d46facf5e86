"""`flask --app app reminders run | preview`: the reminder worker, and what a plan would get."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import signal
import threading
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import force_locale

from meso import (
    formatting,
    links,
    locales,
    mailer,
    push,
    recovery,
    reminders,
    timeutil,
    worker,
)
from meso.cli_input import (
    course_options,
    parse_course,
    parse_lang,
    parse_quiet,
    parse_time,
    parse_windows,
)
from meso.config import ConfigError
from meso.extensions import db
from meso.models import utcnow

reminders_cli = AppGroup("reminders", help="Send push reminders (and the clinics' e-mails).")
log = logging.getLogger("meso.reminders")


@reminders_cli.command("run")
@click.option("--once", is_flag=True, help="Send what is due now, then exit.")
@click.option("--batch", default=50, show_default=True, type=click.IntRange(1, 10000),
              help="Reminders claimed per batch.")
@click.option("--concurrency", default=4, show_default=True, type=click.IntRange(1, 64),
              help="Sends in flight at once.")
@click.option("--lease", default=300, show_default=True, type=click.IntRange(1, 3600),
              help="Seconds a claimed batch stays reserved (a dead worker's rows wait so long).")
@click.option("--poll", default=15.0, show_default=True, type=click.FloatRange(0.1, 600),
              help="Seconds to wait when nothing is due.")
def run_command(once: bool, batch: int, concurrency: int, lease: int, poll: float) -> None:
    """Send due reminders, and e-mails to the clinics when SMTP_URL is set, until stopped
    (SIGTERM or Ctrl+C finish the current batch first)."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    log.setLevel(logging.INFO)
    try:
        emails = mailer.mailer_for(current_app.config) is not None
    except mailer.MailConfigError as exc:  # never quotes the URL: it may hold a password
        raise click.ClickException(f"cannot send e-mail: {exc}") from None
    try:
        pusher = push.pusher_for(current_app)
    except push.PushConfigError as exc:
        if not emails:
            raise click.ClickException(f"cannot send reminders: {exc}") from None
        # E-mail alone: reminders reach patients with an address on file (email_reminders.py).
        log.warning("push is off (%s); reminders go by e-mail only", exc)
        pusher = None
    try:
        # Every push names the page a tap opens as an absolute address (Declarative Web Push).
        links.public_base_url()
    except ConfigError as exc:
        raise click.ClickException(f"cannot send reminders: {exc}") from None
    # A row may wait behind the previous batch (worker.InFlight), then its own.
    queued = 2 * batch
    worst = -(-queued // concurrency) * (pusher.deadline if pusher else mailer.TIMEOUT)
    if lease < worst:
        # A batch outliving its lease may be claimed again by another worker (a double send).
        log.warning("--lease %ds is shorter than a batch of hung push services could take "
                    "(%ds): consider a smaller --batch or a longer --lease", lease, worst)
    stop = threading.Event()
    with single_sqlite_worker(), stop_on_signals(stop):
        log.info("reminder worker started (batch %d, concurrency %d, e-mail %s)", batch,
                 concurrency, "on" if emails else "off: SMTP_URL is not set")
        total = worker.run(once, batch, concurrency, timedelta(seconds=lease), poll,
                           should_stop=stop.is_set, now=utcnow, sleep=stop.wait)
        log.info("reminder worker stopped: sent=%d retried=%d failed=%d pruned=%d skipped=%d; "
                 "emails_sent=%d emails_retried=%d emails_failed=%d", total.sent, total.retried,
                 total.failed, total.pruned, total.skipped, total.emails.sent,
                 total.emails.retried, total.emails.failed)


@reminders_cli.command("preview")
@course_options
@click.option("--window", "window_texts", multiple=True, metavar="KEY=HOURS",
              help="A window other than the default, e.g. heat=72 (repeat for more).")
@click.option("--quiet", "quiet_text", default="21:00-08:00", show_default=True,
              metavar="HH:MM-HH:MM", help="The patient's quiet hours.")
@click.option("--lang", "lang_text", default=None, metavar="LANG",
              help=f"The patient's language ({', '.join(locales.SUPPORTED)}); default: English.")
@click.option("--json", "as_json", is_flag=True, help="Print the reminders as JSON.")
def preview_command(area, session_text, tz_name, sessions_text, interval_text, window_texts,
                    quiet_text, lang_text, as_json) -> None:
    """Show the reminders a plan gets, after quiet hours, as if every session is kept."""
    lang = parse_lang(lang_text)
    course = parse_course(area, tz_name, sessions_text, interval_text)
    protocol = parse_windows(window_texts)
    quiet_start, quiet_end = parse_quiet(quiet_text)
    first = parse_time(session_text, tz_name)
    sessions = recovery.session_schedule(
        [first], course.planned_sessions, course.interval_weeks, timeutil.zone(tz_name))
    settings = replace(reminders.DEFAULT_SETTINGS, quiet_start=quiet_start, quiet_end=quiet_end)
    # Worded as the worker words them for a patient of that language.
    with force_locale(locales.locale_of(lang)):
        items = reminders.preview(course, sessions, protocol, settings, formatting.wording())
        if as_json:
            click.echo(json.dumps(items, indent=2, ensure_ascii=False))
            return
        for item in items:
            when = formatting.when(datetime.fromisoformat(item["at"]))
            click.echo(f"{when:<20}  {item['key']:<16}  {item['title']}")
            click.echo(f"{'':<20}  {'':<16}  {item['body']}")


@contextmanager
def stop_on_signals(stop: threading.Event):
    """SIGTERM and SIGINT set ``stop``: the batch in hand is finished, then the loop ends."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    for sig in previous:
        signal.signal(sig, lambda signum, frame: stop.set())
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def single_sqlite_worker():
    """On SQLite, hold an exclusive lock beside the database file for as long as we run.

    SQLite has no SKIP LOCKED, so one worker is supported: a second one stops here with a
    clear message. The OS drops the lock when the process ends, however it ends (kill -9).
    """
    url = db.engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        yield
        return
    path = Path(url.database).resolve().with_name(Path(url.database).name + ".reminders.lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise click.ClickException(
                "another reminder worker is already running on this SQLite database "
                f"({url.database}). SQLite supports one worker; run several only on PostgreSQL."
            ) from None
        yield
    finally:
        os.close(fd)


def ensure_vapid_key() -> None:
    """Create the VAPID key pair in instance/ unless VAPID_PRIVATE_KEY is configured (`init`)."""
    if current_app.config.get("VAPID_PRIVATE_KEY"):
        return
    key, created = push.ensure_instance_key(Path(current_app.instance_path))
    current_app.config["VAPID_PRIVATE_KEY"] = key
    if created:
        click.echo(f"Push reminders: VAPID key pair created in {current_app.instance_path}.")
