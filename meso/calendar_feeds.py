"""The patient's calendar: a secret link their calendar subscribes to, and a one-off file.

The link is /cal/<token>.ics (256 random bits; only the token's SHA-256 is stored, as for
invite links): whoever holds it reads the patient's appointments, so it is shown once, right
after it is made, never kept in a page the phone stores, and never logged (meso/logredact.py).
The patient stops it, or makes a new one (the old one then stops), on /calendar; "sign out
everywhere" and archiving stop it too. A stopped or unknown link answers 404.

Every change the events may follow (sessions recorded, moved or cancelled; the plan, windows,
reminder settings) passes through courses.after_course_change, which bumps the feed's revision:
each event's SEQUENCE, with DTSTAMP the time of that change. Services flush; the view commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import cast
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask_babel import force_locale, gettext

from meso import course_calendar, formatting, links, locales, policy
from meso.extensions import db
from meso.models import CalendarFeed, Patient, hash_token, new_token, utcnow
from meso.sql_lists import among

# A calendar polls every hour or so; noting each fetch would make every poll a write.
FETCH_NOTED_EVERY = timedelta(hours=1)
TOKEN_MAX = 100  # longer than any token we make: refused before hashing


def live(patient: Patient) -> CalendarFeed | None:
    """Return the patient's feed row when its link is live, else None."""
    feed = db.session.get(CalendarFeed, patient.id)
    return feed if feed is not None and feed.token_hash is not None else None


def issue(patient: Patient, now: datetime) -> str:
    """Make the patient's calendar link (the old one, if any, stops) and return its token."""
    feed = db.session.get(CalendarFeed, patient.id)
    if feed is None:
        try:
            with db.session.begin_nested():  # a second tap may make the row at the same moment
                feed = CalendarFeed(patient_id=patient.id, revision=0, changed_at=now)
                db.session.add(feed)
        except sa.exc.IntegrityError:
            feed = db.session.get(CalendarFeed, patient.id, populate_existing=True)
            assert feed is not None, "the row the other request made"
    token = new_token()
    feed.token_hash, feed.issued_at, feed.fetched_at = hash_token(token), now, None
    db.session.flush()
    return token


def stop(patient: Patient) -> bool:
    """Stop the patient's calendar link; return whether one was live."""
    result = db.session.execute(
        sa.update(CalendarFeed)
        .where(CalendarFeed.patient_id == patient.id, CalendarFeed.token_hash.is_not(None))
        .values(token_hash=None, issued_at=None)
        .execution_options(synchronize_session="fetch")
    )
    return cast(sa.CursorResult, result).rowcount > 0


def feed_for_token(token: str) -> CalendarFeed | None:
    """Return the live feed behind a link's token, or None (unknown, stopped, archived)."""
    if not token or len(token) > TOKEN_MAX:
        return None
    feed = db.session.scalar(
        sa.select(CalendarFeed).where(CalendarFeed.token_hash == hash_token(token)))
    if feed is None or feed.patient.archived_at is not None:
        return None
    return feed


def note_fetch(feed: CalendarFeed, now: datetime) -> bool:
    """Remember that a calendar fetched the feed (at most hourly); return whether it wrote."""
    if feed.fetched_at is not None and now - feed.fetched_at < FETCH_NOTED_EVERY:
        return False
    feed.fetched_at = now
    return True


def after_course_change(patient: Patient, now: datetime | None = None) -> None:
    """The course's events may have changed: a new revision, stamped now (courses calls it)."""
    after_courses_change([patient.id], now)


def after_courses_change(patient_ids: Sequence[int], now: datetime | None = None) -> None:
    """``after_course_change`` for many patients, in one statement."""
    if not patient_ids:
        return
    db.session.execute(
        sa.update(CalendarFeed)
        .where(among(CalendarFeed.patient_id, patient_ids))
        .values(revision=CalendarFeed.revision + 1, changed_at=now or utcnow())
        .execution_options(synchronize_session="fetch")
    )


def feed_url(token: str) -> str:
    """The link a calendar app subscribes to (https), on MESO_BASE_URL."""
    return links.external_url("calendar.feed", token=token)


def webcal_url(token: str) -> str:
    """The same link as webcal://, which phones hand to their calendar app to subscribe."""
    return "webcal://" + feed_url(token).split("://", 1)[1]


def ical(patient: Patient, feed: CalendarFeed | None, now: datetime, *,
         one_off: bool = False) -> bytes:
    """Return the patient's course as an iCalendar file, in the patient's language.

    The subscribed feed is stamped with its last change; the one-off file (``one_off``) with
    ``now``. Both carry the feed's revision as SEQUENCE (0 before the patient ever made a link).
    """
    course, clinic = patient.course, patient.clinic
    settings = policy.reminder_settings_for(patient)
    today = links.external_url("patient.today")
    about = course_calendar.About(
        course_id=course.id, clinic=clinic.name, phone=clinic.phone, url=today,
        domain=urlsplit(links.public_base_url()).hostname or "localhost")
    sessions = [course_calendar.KnownSession(s.id, s.starts_at) for s in course.sessions]
    # In the patient's language, like the reminders: a calendar app's request says nothing
    # about it (changing it makes a new revision: meso/patient_language.py).
    with force_locale(locales.patient_locale(patient)):
        found = course_calendar.events(course, sessions, about, policy.protocol_for(patient),
                                       settings, formatting.wording())
        name = (gettext(course_calendar.CALENDAR_NAME_DISCREET) if settings.discreet
                else gettext(course_calendar.CALENDAR_NAME, clinic=clinic.name))
    return course_calendar.to_ical(
        found, name=name, uid=f"course-{course.id}@{about.domain}", zone=course.timezone,
        url=today, stamp=now if one_off or feed is None else feed.changed_at,
        sequence=feed.revision if feed is not None else 0, publish=one_off)
