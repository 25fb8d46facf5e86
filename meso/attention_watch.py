"""What the roster needs to find, in SQL and from an index, the patients who need attention.

The roster's attention sort and filter used to work out missed check-ins for the whole clinic
in Python (local days per zone) and test every patient against every reason: at 100,000
patients the first page took most of a second. Stored on the patient's row instead:

- ``first_session_at``: the course's first session ("reached by nothing in the first hours",
  meso/reach.py, reads it from the row instead of a subquery per patient).
- ``missed_from`` / ``missed_until``: the patient has a missed check-in (attention.py's rule)
  exactly while ``missed_from <= now < missed_until`` (None: no day is missing). The instants
  are local midnights in the course's zone, worked out here once, not per row and request.
- ``attention_watch``: true whenever any reason other than an open alert may hold (overdue,
  a missed check-in, link not opened, in the first hours). A superset: the roster still
  tests each reason in SQL (meso/roster_query.py), but only on these rows, read in order from
  a partial index, so the "needs attention" group costs the same at any size.
- ``attention_review_at``: the next instant at which any of them may change by time alone (a
  projected session passing, a day ending, the first hours ending, a booked session being
  held). ``refresh`` recomputes the rows whose instant has passed before the roster reads
  them, as next_session.refresh_passed does.

Writes never compute these: a flush that adds or changes what they depend on (a session, the
course, a check-in, a device; the patient row when it is created) marks the patient for review
(``attention_review_at = STALE``), and the next roster read recomputes. Between the write and
that read the stored values may be too wide (a check-in just sent), never too narrow for the
roster: the reads refresh first. Reach (push, e-mail, calendar) is not stored: the roster
reads it per row, only for watched rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import chain
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy import event

from meso.attention import MISSED_DAYS, MISSED_SHOWN_UNTIL_DAY
from meso.extensions import db
from meso.models import CheckIn, Course, Patient, PatientDevice, TreatmentSession
from meso.models.core import ATTENTION_STALE as STALE
from meso.reach import FIRST_HOURS, first_hours_start

# Rows whose writes can change what is stored here (reach is read live, not stored).
WATCHED = (CheckIn, Course, PatientDevice, TreatmentSession)
CHUNK = 2000  # patients recomputed per round of statements
TICK = timedelta(microseconds=1)  # the resolution of a stored instant


@dataclass(frozen=True)
class Watch:
    first_session_at: datetime | None
    missed_from: datetime | None
    missed_until: datetime | None
    watch: bool
    review_at: datetime | None


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """The first instant (UTC) of a local day. A day whose midnight falls in a DST gap
    starts when the gap ends: zoneinfo reads the missing midnight with the offset before it."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def missed_window(latest_held: datetime | None, zone: ZoneInfo,
                  checked: set[date]) -> tuple[datetime | None, datetime | None]:
    """(from, until): attention.missed_checkins' rule as an interval of instants.

    Day d (of MISSED_DAYS) is missed once it is over (local today after it) and until the end
    of day MISSED_SHOWN_UNTIL_DAY, unless a check-in is dated to it; so the patient has a
    missed day from the end of the first unchecked day to the end of the shown ones.
    """
    if latest_held is None:
        return None, None
    session_day = latest_held.astimezone(zone).date()
    unchecked = [d for d in MISSED_DAYS if session_day + timedelta(days=d) not in checked]
    if not unchecked:
        return None, None
    return (day_start(session_day + timedelta(days=unchecked[0] + 1), zone),
            day_start(session_day + timedelta(days=MISSED_SHOWN_UNTIL_DAY + 1), zone))


def compute(now: datetime, created: datetime, starts: list[datetime], zone: ZoneInfo,
            checked: set[date], next_at: datetime | None, booked: bool,
            opened: bool) -> Watch:
    """The stored values for a patient as they are at ``now`` (pure)."""
    held = [s for s in starts if s <= now]
    missed_from, missed_until = missed_window(max(held) if held else None, zone, checked)
    first = min(starts) if starts else None
    start = first_hours_start(first, created, now)
    overdue = not booked and next_at is not None and next_at < now
    missed = missed_from is not None and missed_until is not None \
        and missed_from <= now < missed_until
    watch = overdue or missed or not opened or start <= now < start + FIRST_HOURS
    # Every instant at which something above changes by time alone (a session held changes the
    # latest one, hence the missed window). Each boundary belongs to the state after it, but
    # "overdue" (strictly after the projected session): it changes a microsecond later.
    upcoming = [s for s in starts if s > now]
    instants = [next_at, next_at + TICK if next_at else None, missed_from, missed_until,
                created, created + FIRST_HOURS, first, first + FIRST_HOURS if first else None,
                min(upcoming) if upcoming else None]
    review = [at for at in instants if at is not None and at > now]
    return Watch(first, missed_from, missed_until, watch, min(review) if review else None)


def refresh(clinic_id: int, now: datetime) -> int:
    """Recompute the clinic's rows due for review (written since, or an instant passed);
    return how many. Bulk statements, a few per CHUNK rows: none when nothing is due."""
    # In the order of the key: two staff members' reads refreshing the same rows at once then
    # lock them in the same order, and one waits for the other instead of a deadlock.
    due = db.session.scalars(
        sa.select(Patient.id).where(Patient.clinic_id == clinic_id,
                                    Patient.attention_review_at <= now)
        .order_by(Patient.id)).all()
    for start in range(0, len(due), CHUNK):
        recompute(due[start:start + CHUNK], now)
    return len(due)


def refresh_some(now: datetime, limit: int = CHUNK) -> int:
    """Recompute up to ``limit`` rows due for review, in any clinic; return how many. The
    reminder worker calls this now and then (meso/worker.py), so that a roster read rarely
    finds many rows due: after the migration that added these columns every row is, and a
    clinic nobody opens for a while gathers the ones whose instants passed."""
    due = db.session.scalars(
        sa.select(Patient.id).where(Patient.attention_review_at <= now)
        .order_by(Patient.id).limit(limit)).all()
    if due:
        recompute(due, now)
    return len(due)


def recompute(ids: Sequence[int], now: datetime) -> None:
    """Store the values of ``compute`` for these patients (one UPDATE, by primary key)."""
    rows = db.session.execute(
        sa.select(Patient.id, Patient.created_at, Patient.next_session_at,
                  Patient.next_session_booked, _device().label("device"))
        .where(Patient.id.in_(ids))).all()
    # Each statement by key (a join let PostgreSQL's estimates pick a scan of every course).
    course: dict[int, tuple[int | None, str]] = {
        patient_id: (course_id, zone) for patient_id, course_id, zone in db.session.execute(
        sa.select(Course.patient_id, Course.id, Course.timezone)
        .where(Course.patient_id.in_(ids)))}
    starts: dict[int, list[datetime]] = defaultdict(list)
    for course_id, start in db.session.execute(
            sa.select(TreatmentSession.course_id, TreatmentSession.starts_at)
            .where(TreatmentSession.course_id.in_([c for c, _ in course.values() if c]))):
        starts[course_id].append(start)
    # Only the days after the latest held session matter (at most a week back).
    checked: dict[int, set[date]] = defaultdict(set)
    since = (now - timedelta(days=MISSED_SHOWN_UNTIL_DAY + 3)).date()
    for patient_id, local_date in db.session.execute(
            sa.select(CheckIn.patient_id, CheckIn.local_date).distinct()
            .where(CheckIn.patient_id.in_(ids), CheckIn.local_date >= since)):
        checked[patient_id].add(local_date)
    values = []
    for row in sorted(rows, key=lambda row: row.id):  # locked in key order (see refresh)
        course_key, zone_name = course.get(row.id, (None, "UTC"))
        found = compute(now, row.created_at, starts.get(course_key or 0, []), ZoneInfo(zone_name),
                        checked[row.id], row.next_session_at, row.next_session_booked,
                        row.device is not None)
        values.append({"id": row.id, "first_session_at": found.first_session_at,
                       "missed_from": found.missed_from,
                       "missed_until": found.missed_until, "attention_watch": found.watch,
                       "attention_review_at": found.review_at})
    if values:
        # No page of the patient's shows these columns: their page version stays.
        db.session.execute(sa.update(Patient), values)


def _device():
    """One of the patient's devices, or NULL: a probe by index per row (PostgreSQL would
    hash all the devices of every clinic for an EXISTS)."""
    return (sa.select(PatientDevice.id).where(PatientDevice.patient_id == Patient.id)
            .limit(1).scalar_subquery())


def not_opened_sql() -> sa.ColumnElement[bool]:
    """SQL: the patient has opened their link on no device (the roster's "not_opened")."""
    return _device().is_(None)


# -- writes mark the patient for review ---------------------------------------------------------


def init_app(app) -> None:
    """Mark patients for review on every flush from now on (once a process, like
    page_versions: the listener is the Session class's)."""
    if not event.contains(so.Session, "before_flush", _mark_for_review):
        event.listen(so.Session, "before_flush", _mark_for_review)


def _owner(session: so.Session, row) -> set[int]:
    if isinstance(row, TreatmentSession):
        course = row.course
        if course is None and row.course_id is not None:
            course = session.get(Course, row.course_id)
        return {course.patient_id} if course is not None and course.patient_id else set()
    history = so.attributes.get_history(row, "patient_id")
    found = {pid for pid in chain(history.added, history.unchanged, history.deleted)
             if pid is not None}
    owner = getattr(row, "patient", None)  # a row added by relationship has no id yet
    if isinstance(owner, Patient) and owner.id is not None:
        found.add(owner.id)
    return found


def _mark_for_review(session: so.Session, flush_context, instances) -> None:
    rows = [row for row in chain(session.new, session.deleted,
                                 (r for r in session.dirty if _changed(session, r)))
            if isinstance(row, WATCHED)]
    if not rows:
        return
    with session.no_autoflush:
        for pid in sorted(set().union(*(_owner(session, row) for row in rows))):
            patient = session.get(Patient, pid)
            if patient is not None and patient not in session.deleted:
                patient.attention_review_at = STALE


def _changed(session: so.Session, row) -> bool:
    # A device's last-seen time, written by the pages once an hour, changes nothing here.
    if isinstance(row, PatientDevice):
        return False
    return session.is_modified(row)
