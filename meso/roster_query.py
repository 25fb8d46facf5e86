"""The roster query: a clinic's patients with where each is in their course, paged in SQL.

Sorting and filtering happen in the database, from columns of the patient's row and their
indexes (the next session is stored: meso/next_session.py; what attention is filtered by,
meso/attention_watch.py), and the count stops a little past the page, so a page costs the same at
100,000 patients as at 1,000; the page's rows are then finished in Python with the
planner's own rules (local days, phases, projected dates at the same wall-clock time).
Whatever the sort, patients with open alerts come first (meso/attention.py): emergency, then
call the clinic, the oldest alert first. The default sort ("attention") then puts the other
patients who need attention (overdue, missed check-ins, link not opened, reached by nothing
in their first hours) before the rest, each group in the order of "next". How each patient is
reached (meso/reach.py) is read in the same statement as the rest of the page's rows. A fixed
number of statements, whatever the size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so

from meso import attention, attention_watch, next_session, reach, recovery
from meso.extensions import db
from meso.models import CheckIn, Course, Patient, PatientDevice, TreatmentSession
from meso.sql_lists import on_postgresql

PER_PAGE = 50
# The count stops this many rows past the page's start: "More than 1,000 patients".
COUNT_CAP = 1000
# A name search's count stops sooner: "More than 100 patients" says to type more of the name,
# and a common name's matches then cost the same in a clinic of 1,000 as in one of 100,000.
SEARCH_CAP = 100
SORTS = ("attention", "next", "name", "recent")
DEFAULT_SORT = "attention"


@dataclass(frozen=True)
class RosterRow:
    id: int
    name: str
    area: str
    held: int
    planned: int
    day: int
    phase: str
    next_at: datetime | None  # local
    next_booked: bool
    overdue: bool
    last_checkin: datetime | None  # local
    attention: tuple[str, ...]  # "alert", "overdue", "missed", "not_opened", "unreached"
    alert: str | None = None  # the worst open alert's advice: "emergency" or "call_clinic"
    alert_since: datetime | None = None  # local: the oldest open alert
    missed_days: tuple[int, ...] = ()  # days after the latest session with no check-in
    erasure_requested: bool = False  # the patient asked for their data to be erased
    time_requested: bool = False  # the patient tapped "Ask for a time" (next not booked)
    reached: reach.Reach = reach.NOTHING  # how the patient is reached
    reminders_off: bool = False  # no reminder gets through (reach.reminders_off)


@dataclass(frozen=True)
class RosterPage:
    rows: list[RosterRow]
    total: int  # exact unless ``more``: then at least this many (and more)
    page: int
    pages: int  # likewise: at least this many when ``more``
    more: bool = False


def _session_stats(now: datetime, courses_of):
    """Per course: known and held sessions, first, last, latest held and next booked.

    ``courses_of`` limits the aggregate to some patients (a clinic's, or a page's): the
    database then reads only their sessions.
    """
    ts = TreatmentSession
    return (
        sa.select(
            ts.course_id.label("course_id"),
            sa.func.count(ts.id).label("known"),
            sa.func.sum(sa.case((ts.starts_at <= now, 1), else_=0)).label("held"),
            sa.func.min(ts.starts_at).label("first_at"),
            sa.func.max(ts.starts_at).label("last_known"),
            sa.func.max(sa.case((ts.starts_at <= now, ts.starts_at))).label("last_held"),
            sa.func.min(sa.case((ts.starts_at > now, ts.starts_at))).label("next_booked"),
        )
        .join(Course, Course.id == ts.course_id)
        .join(Patient, Patient.id == Course.patient_id)
        .where(courses_of)
        .group_by(ts.course_id)
        .subquery("stats")
    )


def _conditions(now: datetime, clinic_id: int,
                archived: bool) -> dict[str, sa.ColumnElement[bool]]:
    """Each attention reason as SQL (used to filter; the page shows them per row), none of
    them ever NULL (a NULL would leave a patient out of both groups of the default sort).

    "overdue": no session booked and the projected one has passed (the stored next session,
    meso/next_session.py, is the projection exactly when none is booked). "missed": the stored
    interval (meso/attention_watch.py); archived patients have none, as on their rows.
    "not_opened" and "unreached" are read per row: the roster tests them only on watched rows
    (attention_watch), or on a page's.
    """
    # Uncorrelated IN (SELECT ...) over the clinic's open alerts (few): hashed once.
    mine = so.aliased(Patient)
    alerted = (sa.select(CheckIn.patient_id).join(mine, mine.id == CheckIn.patient_id)
               .where(mine.clinic_id == clinic_id, attention.is_open()))
    missed = sa.and_(Patient.missed_from.is_not(None), Patient.missed_from <= now,
                     Patient.missed_until > now)
    return {
        "alert": Patient.id.in_(alerted),
        "overdue": sa.and_(Patient.next_session_booked.is_(False),
                           Patient.next_session_at.is_not(None),
                           Patient.next_session_at < now),
        "missed": sa.false() if archived else missed,
        "not_opened": attention_watch.not_opened_sql(),
        "unreached": reach.unreached_early_sql(Patient.first_session_at, now),
    }


def roster_page(clinic_id: int, protocol, now: datetime, query: str = "",
                sort: str = DEFAULT_SORT,
                attention_only: bool = False, page: int = 1,
                archived: bool = False) -> RosterPage:
    """Return one page of the clinic's roster, patients with open alerts first.

    Patients with open alerts are few: they are listed apart, in the attention order, and
    the others follow in the chosen order, read from an index on the patient's row (the
    stored next session, the name, the enrolment; for those who need attention, a partial
    index of the watched rows), so the first page costs the same at 1,000 patients as at
    100,000. The count stops past COUNT_CAP rows beyond the page (``RosterPage.more``): an
    exact count of tens of thousands of rows would cost more than the page itself; a name
    search's, past SEARCH_CAP. The
    stored values that time has made stale are refreshed first (the caller commits them).
    """
    if on_postgresql():
        # The planner's cost estimates for these statements (subplans per row, under a LIMIT
        # that stops them early) pass the JIT threshold: compiling took longer than the page.
        db.session.execute(sa.text("SET LOCAL jit = off"))
    next_session.refresh_passed(clinic_id, now)
    attention_watch.refresh(clinic_id, now)
    conditions = _conditions(now, clinic_id, archived)
    alert = conditions.pop("alert")
    # Watched rows first (a partial index): the reasons are tested on those alone.
    needs = sa.and_(Patient.attention_watch, sa.or_(*conditions.values()))
    base = sa.select(Patient.id).where(
        Patient.clinic_id == clinic_id,
        Patient.archived_at.is_not(None) if archived else Patient.archived_at.is_(None))
    if query.strip():
        # On PostgreSQL a trigram index on (clinic_id, name) serves this, where the
        # migrations could create pg_trgm and btree_gin; elsewhere it scans the clinic's rows.
        base = base.where(Patient.name.ilike(f"%{_escape_like(query.strip())}%", escape="\\"))
    order = _order(sort)
    alerts = attention.open_alerts_subquery(Patient.clinic_id == clinic_id)
    first = db.session.scalars(
        base.join(alerts, alerts.c.patient_id == Patient.id)
        .order_by(*attention.attention_order(alerts), *order)).all()
    rest = base.where(~alert)
    if attention_only:
        groups = [rest.where(needs)]
    elif sort == "attention":
        # Then the others who need attention (any other reason), then everyone else.
        groups = [rest.where(needs), rest.where(~needs)]
    else:
        groups = [rest]
    requested = max(1, page)
    horizon = (SEARCH_CAP if query.strip() else COUNT_CAP) + (requested - 1) * PER_PAGE
    # Counted in the page's order where an index has that order (not the archived list:
    # unordered, its count stops at the limit; ordered, it would sort every archived match).
    sizes = _sizes(groups, horizon + 1 - len(first), [] if archived else order)
    total = len(first) + sum(sizes)
    more = total > horizon
    total = min(total, horizon)
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(requested, pages)
    ids = _page_of(first, groups, sizes, order, (page - 1) * PER_PAGE)
    return RosterPage(_rows(ids, protocol, now, archived), total, page, pages, more)


def _sizes(groups: list[sa.Select], limit: int, order: list) -> list[int]:
    """Each group's size, counting no further than ``limit`` rows in all: past it, the rest
    are not counted (0). Counting stops early, so it costs at most ``limit`` rows.

    The rows are counted in ``order`` (the page's), which changes nothing in the count but lets
    PostgreSQL choose as it does for the page: unordered, a search for a common name read every
    match of it from the trigram index (about 21,000 of "ross" at 100,000 patients, 5 ms)
    before it stopped at the limit; ordered, it walks the order's index and stops there, and a
    rare name still takes the trigram index (bench/: the search at 100,000 ÷ 1,000 went from
    1.26 to 1.0)."""
    sizes = []
    for group in groups:
        size = 0
        if limit > 0:
            counted = group.order_by(*order).limit(limit).subquery()
            size = db.session.scalar(sa.select(sa.func.count()).select_from(counted)) or 0
        sizes.append(size)
        limit -= size
    return sizes


def _page_of(first: Sequence[int], groups: list[sa.Select], sizes: list[int], order: list,
             offset: int) -> list[int]:
    """PER_PAGE ids from ``offset`` of ``first``, then each group in ``order`` in turn. A
    group is skipped when the page starts after it (its counted size says so: a size cut
    short by the count's limit is past the page, which the limit always reaches)."""
    ids = list(first[offset:offset + PER_PAGE])
    skip = max(0, offset - len(first))
    for group, size in zip(groups, sizes, strict=True):
        if len(ids) == PER_PAGE:
            break
        if skip and skip >= size:
            skip -= size
            continue
        ids += db.session.scalars(group.order_by(*order).limit(PER_PAGE - len(ids))
                                  .offset(skip)).all()
        skip = 0
    return ids


def _order(sort: str) -> list:
    """Within a group: by name, by enrolment, or ("next", "attention") by next session."""
    if sort == "name":
        return [sa.func.lower(Patient.name), Patient.id]
    if sort == "recent":
        return [Patient.created_at.desc(), Patient.id.desc()]
    return [Patient.next_session_at.asc().nulls_last(), sa.func.lower(Patient.name), Patient.id]


def _rows(ids, protocol, now, archived: bool) -> list[RosterRow]:
    if not ids:
        return []
    on_page = Patient.id.in_(ids)
    stats = _session_stats(now, on_page)
    alerts = attention.open_alerts_subquery(on_page)
    not_opened = ~sa.exists().where(PatientDevice.patient_id == Patient.id)
    last_checkin = (sa.select(sa.func.max(CheckIn.created_at))
                    .where(CheckIn.patient_id == Patient.id).scalar_subquery())
    result = db.session.execute(
        sa.select(Patient.id, Patient.name, Course.area, Course.planned_sessions,
                  Course.interval_weeks, Course.timezone, stats.c.known, stats.c.held,
                  stats.c.first_at, stats.c.last_known, stats.c.last_held,
                  stats.c.next_booked, last_checkin.label("last_checkin"),
                  alerts.c.emergency.label("alert_emergency"),
                  alerts.c.since.label("alert_since"), not_opened.label("not_opened"),
                  Patient.erasure_requested_at, Course.time_requested_at,
                  Patient.created_at, reach.push_sql().label("push"),
                  reach.email_sql().label("email"), reach.calendar_sql().label("calendar"),
                  reach.categories_on_sql().label("categories_on"))
        .join(Course, Course.patient_id == Patient.id)
        .join(stats, stats.c.course_id == Course.id)
        .outerjoin(alerts, alerts.c.patient_id == Patient.id)
        .where(on_page)
    ).all()
    # Missed check-ins from the latest held session read above (archived patients have none).
    missed = {} if archived else attention.missed_after(
        {row.id: (row.last_held, ZoneInfo(row.timezone)) for row in result}, now)
    by_id = {row.id: _row(row, protocol, now, missed.get(row.id, ())) for row in result}
    return [by_id[i] for i in ids]


def _row(row, protocol, now, missed_days: tuple[int, ...]) -> RosterRow:
    zone = ZoneInfo(row.timezone)
    today = now.astimezone(zone).date()
    if row.held:
        anchor, phase = row.last_held, recovery.phase_at(now - row.last_held, True, protocol)
    else:
        anchor, phase = row.first_at, "preparation"
    next_at, booked, overdue = None, False, False
    if row.next_booked is not None:
        next_at, booked = row.next_booked.astimezone(zone), True
    elif row.known < row.planned_sessions:
        projected = recovery.session_schedule([row.last_known], 2, row.interval_weeks, zone)[1]
        next_at, overdue = projected.astimezone(zone), projected <= now
    alert = None
    if row.alert_since is not None:
        alert = "emergency" if row.alert_emergency else "call_clinic"
    reached = reach.Reach(bool(row.push), bool(row.email), bool(row.calendar))
    reasons = {"alert": alert is not None, "overdue": overdue, "missed": bool(missed_days),
               "not_opened": bool(row.not_opened),
               "unreached": reach.unreached_early(reached, row.first_at, row.created_at, now)}
    return RosterRow(
        id=row.id, name=row.name, area=row.area, held=int(row.held or 0),
        planned=row.planned_sessions, day=(today - anchor.astimezone(zone).date()).days,
        phase=phase, next_at=next_at, next_booked=booked, overdue=overdue,
        last_checkin=row.last_checkin.astimezone(zone) if row.last_checkin else None,
        attention=tuple(key for key, present in reasons.items() if present),
        alert=alert,
        alert_since=row.alert_since.astimezone(zone) if row.alert_since else None,
        missed_days=missed_days,
        erasure_requested=row.erasure_requested_at is not None,
        time_requested=row.time_requested_at is not None and not booked and next_at is not None,
        reached=reached, reminders_off=reach.reminders_off(reached, row.categories_on),
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
