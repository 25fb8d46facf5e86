"""The recovery planner: where a patient is in their course at a given instant. Pure.

Two rules about time hold everywhere here:
- windows are absolute durations from a session's start instant (48 h is 48 real hours, even
  across a daylight-saving change), so they are computed on aware UTC instants;
- day numbers are local calendar days in the patient's zone (session day = day 0), so they are
  computed on local dates from ``zoneinfo``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from typing import Protocol as TypingProtocol
from zoneinfo import ZoneInfo

from meso import daily_lines
from meso import protocol as p
from meso.timeutil import iso


class CourseLike(TypingProtocol):
    """What the planner needs of a course (the ORM model and plain objects both fit)."""

    area: str
    timezone: str
    planned_sessions: int
    interval_weeks: int


@dataclass(frozen=True)
class Avoid:
    key: str
    since: datetime
    until: datetime


@dataclass(frozen=True)
class AllowedAgain:
    key: str
    since: datetime


@dataclass(frozen=True)
class NextSession:
    number: int
    starts_at: datetime
    booked: bool  # False when projected from the plan's interval
    overdue: bool = False  # projected date passed and no session was recorded


@dataclass(frozen=True)
class DayPlan:
    """One instant of a course, as the patient sees it."""

    at: datetime  # local
    day: int
    hours_since_session: float
    phase: str
    area: str
    sessions_done: int
    sessions_planned: int
    session_at: datetime  # latest session started (local), or the first one if none yet
    avoid: tuple[Avoid, ...]
    allowed_again: tuple[AllowedAgain, ...]
    normal: tuple[str, ...]
    do_today: tuple[str, ...]  # sunscreen every day, in every phase: it has no end date
    next_session: NextSession | None
    prepare: tuple[str, ...]  # pre-session items, when a session is near (or none done yet)

    @property
    def course_complete(self) -> bool:
        return self.sessions_done >= self.sessions_planned

    def to_json(self) -> dict[str, Any]:
        """The public JSON shape (DESIGN.md §5), shared by `plan --json` and /api/plan."""
        return {
            "day": self.day,
            "hours_since_session": self.hours_since_session,
            "phase": self.phase,
            "area": self.area,
            "session": {"number": self.sessions_done, "of": self.sessions_planned},
            "avoid": [{"key": a.key, "until": iso(a.until)} for a in self.avoid],
            "allowed_again": [{"key": a.key, "since": iso(a.since)} for a in self.allowed_again],
            "next_session": iso(self.next_session.starts_at) if self.next_session else None,
        }


def session_schedule(
    sessions: Sequence[datetime], planned: int, interval_weeks: int, zone: tzinfo = UTC
) -> list[datetime]:
    """Return the course's session instants: the known ones, then projected ones up to plan.

    Known sessions (held or booked) come from the clinic; the rest of the plan is projected at
    the course's interval after the last known one, so a patient always sees a next date.
    Projected sessions keep the last known one's local wall-clock time in ``zone``: a clinic
    books "10:00 every three weeks", whatever the clocks did in between.
    """
    if not sessions:
        raise ValueError("a course needs at least its first session")
    known = sorted(to_utc(s) for s in sessions)
    last = known[-1].astimezone(zone)
    for k in range(1, planned - len(known) + 1):
        known.append((last + k * timedelta(weeks=interval_weeks)).astimezone(UTC))
    return known


def plan_day(
    course: CourseLike,
    sessions: Sequence[datetime],
    at: datetime,
    protocol: p.Protocol = p.DEFAULT_PROTOCOL,
) -> DayPlan:
    """Return the plan of the instant ``at`` for a course with these known session instants.

    Only known sessions (held, or booked by the clinic) are ever "done": a projected session
    that was never recorded did not happen, so it stays the next one, overdue. To plan a
    course as if every session is kept, pass ``session_schedule(...)`` as the sessions.
    """
    zone = ZoneInfo(course.timezone)
    at = to_utc(at)
    schedule = session_schedule(sessions, course.planned_sessions, course.interval_weeks, zone)
    done = [s for s in schedule[: len(sessions)] if s <= at]
    upcoming = schedule[len(done):]  # known future sessions, then projected (maybe overdue)
    anchor = done[-1] if done else schedule[0]
    latest = done[-1] if done else None
    since = at - anchor
    phase = phase_at(since, bool(done), protocol)
    day = (at.astimezone(zone).date() - anchor.astimezone(zone).date()).days
    next_session = None
    if upcoming:
        number = len(done) + 1
        next_session = NextSession(
            number, upcoming[0].astimezone(zone), number <= len(sessions), upcoming[0] <= at
        )
    return DayPlan(
        at=at.astimezone(zone),
        day=day,
        hours_since_session=round(since.total_seconds() / 3600, 2),
        phase=phase,
        area=course.area,
        sessions_done=len(done),
        sessions_planned=course.planned_sessions,
        session_at=anchor.astimezone(zone),
        avoid=_avoid(course.area, latest, upcoming, at, zone, protocol),
        allowed_again=_allowed_again(course.area, latest, at, zone, protocol),
        normal=_normal(phase, course.area, day),
        do_today=daily_lines.select(p.DO_LINES, phase, course.area, day),
        next_session=next_session,
        prepare=p.PREPARE if _prepare_due(done, upcoming, at, protocol) else (),
    )


def next_change(
    course: CourseLike,
    sessions: Sequence[datetime],
    at: datetime,
    protocol: p.Protocol = p.DEFAULT_PROTOCOL,
) -> datetime:
    """Return the first instant after ``at`` from which ``plan_day`` may answer differently.

    Until then the plan is the same but for ``at`` itself and the hours since the session
    (what countdowns show): no window starts or ends, no phase, session or day begins. Every
    comparison plan_day makes holds from its boundary on (``start <= at < end``), so each
    boundary is a candidate: a session (done, or overdue when projected), a window's start
    and end, the end of the immediate phase and of the first weeks, the pre-session notice,
    and local midnight (day numbers and daily lines).
    """
    zone = ZoneInfo(course.timezone)
    at = to_utc(at)
    schedule = session_schedule(sessions, course.planned_sessions, course.interval_weeks, zone)
    tomorrow = at.astimezone(zone).date() + timedelta(days=1)
    candidates = [datetime.combine(tomorrow, time(), zone).astimezone(UTC)]
    windows = [protocol.windows[key] for key, rule in p.RESTRICTIONS.items()
               if rule.applies_to(course.area)]
    for start in schedule:
        candidates += [start, start + protocol.immediate, start + protocol.first_weeks,
                       start - protocol.prepare_notice]
        candidates += [start + window for window in windows]
        candidates += [start - window for window in windows]
    return min(c for c in candidates if c > at)


def phase_at(since_session: timedelta, any_done: bool, protocol: p.Protocol) -> str:
    """Return the phase for the time since the latest session.

    After the last planned session the same rule holds: the immediate and first-weeks
    guidance still matters right after it, so "course complete" does not skip to cumulative.
    """
    if not any_done:
        return "preparation"
    if since_session < protocol.immediate:
        return "immediate"
    if since_session < protocol.first_weeks:
        return "first_weeks"
    return "cumulative"


def _avoid(area, latest, upcoming, at, zone, protocol) -> tuple[Avoid, ...]:
    items = []
    for key, rule in p.RESTRICTIONS.items():
        if not rule.applies_to(area):
            continue
        window = protocol.windows[key]
        if rule.anchor == "after" and latest is not None:
            start, end = latest, latest + window
        elif rule.anchor == "before" and upcoming:
            start, end = upcoming[0] - window, upcoming[0]
        else:
            continue
        if start <= at < end:
            items.append(Avoid(key, start.astimezone(zone), end.astimezone(zone)))
    return tuple(sorted(items, key=lambda a: a.until))


def _allowed_again(area, latest, at, zone, protocol) -> tuple[AllowedAgain, ...]:
    """Return the after-session restrictions of the latest session that have ended."""
    if latest is None:
        return ()
    items = [
        AllowedAgain(key, (latest + protocol.windows[key]).astimezone(zone))
        for key, rule in p.RESTRICTIONS.items()
        if rule.anchor == "after" and rule.applies_to(area)
        and latest + protocol.windows[key] <= at
    ]
    return tuple(sorted(items, key=lambda a: a.since))


def _normal(phase, area, day) -> tuple[str, ...]:
    lines = daily_lines.select(p.NORMAL_LINES, phase, area, day)
    if phase == "cumulative":
        lines = (p.CUMULATIVE_RESULTS[area], *lines)
    return lines


def _prepare_due(done, upcoming, at, protocol) -> bool:
    if not upcoming:
        return False
    return not done or upcoming[0] - at <= protocol.prepare_notice


@dataclass(frozen=True)
class Event:
    """Something that happens on a timeline day: a session, or a restriction ending/starting."""

    kind: str  # "session" | "ends" | "starts"
    at: datetime  # local
    key: str = ""  # restriction key for "ends"/"starts"
    number: int = 0  # session number for "session"
    booked: bool = True


@dataclass(frozen=True)
class TimelineDay:
    date: date
    day: int
    phase: str
    sessions_done: int
    events: tuple[Event, ...]


def timeline(
    course: CourseLike,
    sessions: Sequence[datetime],
    start: datetime | None = None,
    protocol: p.Protocol = p.DEFAULT_PROTOCOL,
) -> list[TimelineDay]:
    """Return the course day by day: from ``start`` (enrolment) to the end of the first weeks
    after the last session.

    Each day's phase is the one at the end of that local day, so a session day reads as the
    session's phase, not the one before it.
    """
    zone = ZoneInfo(course.timezone)
    schedule = session_schedule(sessions, course.planned_sessions, course.interval_weeks, zone)
    first = schedule[0].astimezone(zone).date()
    begin = min(first, start.astimezone(zone).date()) if start else first
    end = (schedule[-1] + protocol.first_weeks).astimezone(zone).date()
    events = _events(course.area, schedule, len(sessions), zone, protocol)
    days = []
    current = begin
    while current <= end:
        end_of_day = datetime.combine(current + timedelta(days=1), time(), zone) - timedelta(
            microseconds=1
        )
        plan = plan_day(course, schedule, end_of_day, protocol)
        days.append(
            TimelineDay(
                date=current,
                day=plan.day,
                phase=plan.phase,
                sessions_done=plan.sessions_done,
                events=tuple(e for e in events if e.at.date() == current),
            )
        )
        current += timedelta(days=1)
    return days


def _events(area, schedule, known, zone, protocol) -> list[Event]:
    events = []
    for number, start in enumerate(schedule, 1):
        following = schedule[number] if number < len(schedule) else None
        events.append(Event("session", start.astimezone(zone), number=number,
                            booked=number <= known))
        for key, rule in p.RESTRICTIONS.items():
            if not rule.applies_to(area):
                continue
            window = protocol.windows[key]
            if rule.anchor == "before":
                events.append(Event("starts", (start - window).astimezone(zone), key=key))
            # A window that the next session restarts never really ends: no "OK again" then.
            elif following is None or start + window < following:
                events.append(Event("ends", (start + window).astimezone(zone), key=key))
    return sorted(events, key=lambda e: e.at)


def to_utc(instant: datetime) -> datetime:
    """Return an aware instant in UTC; naive datetimes are refused rather than guessed."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("instants must be timezone-aware")
    return instant.astimezone(UTC)
