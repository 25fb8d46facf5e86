"""The reminder plan, pure: which push reminders a course earns, and when. No Flask, no DB.

The rules are data (protocol.REMINDER_RULES); this module gives each one its instant:
- windows are absolute (a 48 h window ends 48 real hours after the session's start), read
  from the same Protocol and session schedule as the planner (recovery.session_schedule);
- "day 1 morning" is a local wall-clock time in the patient's zone (zoneinfo), so it stays at
  08:30 across a daylight-saving change;
- nothing fires in the patient's quiet hours: it moves to their end, and is dropped when it
  would then be pointless; nothing is planned after the moment it stops being true.
The outbox (meso/outbox.py) stores what this returns; the worker sends it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from meso import protocol as p
from meso import recovery, reminder_texts


def parse_clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class Settings:
    """A patient's reminder choices (defaults when they never opened the settings page)."""

    categories: frozenset[str] = frozenset(p.REMINDER_CATEGORIES)
    morning: time = p.DEFAULT_MORNING
    quiet_start: time = p.DEFAULT_QUIET_HOURS[0]
    quiet_end: time = p.DEFAULT_QUIET_HOURS[1]
    discreet: bool = False


DEFAULT_SETTINGS = Settings()


@dataclass(frozen=True)
class Planned:
    """One reminder to send: the outbox row's content, before it is stored."""

    session: int  # the session it speaks of (1-based, in start order)
    rule: str
    category: str  # the first of the rule's categories the patient has on
    categories: tuple[str, ...]  # all of them: they choose the text variant
    anchor_at: datetime  # the session start it was planned from (UTC)
    fire_at: datetime  # local, in the patient's zone
    expires_at: datetime  # local; pointless from then on (the push TTL runs until here)
    topic: str  # push Topic and notification tag: a re-send replaces, never stacks
    link: str
    urgency: str
    params: Mapping[str, datetime] = field(default_factory=dict)  # local instants for texts
    still: bool = False  # the rule's "still" sentence applies

    @property
    def key(self) -> tuple[int, str]:
        return (self.session, self.rule)


def in_quiet_hours(local: datetime, settings: Settings) -> bool:
    """Return whether a local wall-clock time falls in the quiet hours (which may span midnight)."""
    return quiet_at(local.time(), settings.quiet_start, settings.quiet_end)


def quiet_at(clock: time, start: time, end: time) -> bool:
    """Return whether a clock time falls in quiet hours from ``start`` to ``end``.

    They may run past midnight (21:00-08:00); equal ends mean no quiet hours at all.
    """
    if start == end:
        return False
    if start < end:
        return start <= clock < end
    return clock >= start or clock < end


def quiet_hours_conflict(start: time, end: time, morning: time,
                         longest: timedelta | None = None) -> str | None:
    """Return what is wrong with quiet hours and a morning reminder time, or None.

    "same": they start and end at one time; "too_long": longer than ``longest``; "morning": the
    morning reminders would fall inside them. The clinic's and the patient's forms both ask.
    """
    if start == end:
        return "same"
    day = date(2000, 1, 1)
    length = (datetime.combine(day, end) - datetime.combine(day, start)) % timedelta(days=1)
    if longest is not None and length > longest:
        return "too_long"
    if quiet_at(morning, start, end):
        return "morning"
    return None


def useful(expires_at: Any, at: datetime) -> Any:
    """Return whether a reminder still says something true at ``at``: only before it expires.

    ``expires_at`` is an instant (a bool comes back) or the outbox column Reminder.expires_at
    (a SQL condition comes back, for a query): one rule for both.
    """
    return at < expires_at


def after_quiet_hours(local: datetime, settings: Settings) -> datetime:
    """Return ``local`` itself, or the end of the quiet hours it falls in."""
    if not in_quiet_hours(local, settings):
        return local
    zone = local.tzinfo
    assert zone is not None, "an aware local time"
    end = at_clock(local.date(), settings.quiet_end, zone)
    if end <= local:
        end = at_clock(local.date() + timedelta(days=1), settings.quiet_end, zone)
    return end


def at_clock(day: date, clock: time, zone: tzinfo) -> datetime:
    """Return the local instant of ``clock`` on ``day``.

    A clock time skipped by a spring-forward change resolves to the same distance past the
    change (02:30 becomes 03:30): a reminder is better a little late than lost.
    """
    wall = datetime.combine(day, clock)
    return wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone)


def end_of_day(day: date, zone: tzinfo) -> datetime:
    return at_clock(day + timedelta(days=1), time(0), zone)


def schedule(
    course: recovery.CourseLike,
    sessions: Sequence[datetime],
    protocol: p.Protocol = p.DEFAULT_PROTOCOL,
    settings: Settings = DEFAULT_SETTINGS,
) -> list[Planned]:
    """Return the course's reminders, in fire order, for every known session.

    ``sessions`` are the recorded or booked session starts. Projected sessions (the rest of the
    plan) earn no reminders of their own, since their date is a guess, but they still end the
    windows of the session before them, as on the Timeline.
    """
    if not sessions:
        return []
    zone = ZoneInfo(course.timezone)
    known = sorted(recovery.to_utc(s) for s in sessions)
    full = recovery.session_schedule(known, course.planned_sessions, course.interval_weeks, zone)
    rules = [rule for rule in p.REMINDER_RULES.values() if _applies(rule, course.area)]
    planned: list[Planned] = []
    for number, start in enumerate(known, 1):
        following = full[number] if number < len(full) else None
        previous = known[number - 2] if number > 1 else None
        for rule in rules:
            if rule.anchor == "last":
                continue
            item = _plan_rule(rule, number, start, previous, following, zone, protocol, settings)
            if item is not None:
                planned.append(item)
    if len(known) >= course.planned_sessions:
        last = p.REMINDER_RULES["maintenance"]
        item = _plan_rule(last, len(known), known[-1], None, None, zone, protocol, settings)
        if item is not None:
            planned.append(item)
    return sorted(planned, key=lambda r: (r.fire_at, r.session, r.rule))


def _applies(rule: p.ReminderRule, area: str) -> bool:
    """A rule speaks only of restrictions the treated area has (no makeup on the scalp)."""
    keys = {*rule.windows, *rule.while_open, *rule.still_open}
    return all(p.RESTRICTIONS[key].applies_to(area) for key in keys)


def _plan_rule(rule, number, start, previous, following, zone, protocol, settings):
    """Return the rule's reminder for one session, or None when it has nothing true to say."""
    enabled = tuple(c for c in rule.categories if c in settings.categories)
    if not enabled:
        return None
    ends = window_ends(start, protocol)
    nominal = _nominal_fire(rule, start, ends, zone, protocol, settings)
    if nominal is None:
        return None
    expires = nominal + rule.useful_for
    if rule.same_day:
        # "Tonight" means the local day the rule belongs to, not the day a late one lands on.
        day = start.astimezone(zone).date() + timedelta(days=rule.day or 0)
        expires = min(expires, end_of_day(day, zone))
    for key in rule.while_open:
        expires = min(expires, ends[key])
    if rule.anchor == "before":
        # Speaks of this session, from the days before it (once the previous one is over).
        expires = min(expires, start)
        if previous is not None and nominal <= previous:
            return None
    elif following is not None:
        # The next session restarts every window: what this one says stops being true.
        expires = min(expires, following)
    fire = after_quiet_hours(nominal, settings)
    if not useful(expires, fire):
        return None
    params, still = reminder_texts.what_it_says(rule, start, protocol, zone, fire)
    return Planned(
        session=number,
        rule=rule.key,
        category=enabled[0],
        categories=enabled,
        anchor_at=start,
        fire_at=fire,
        expires_at=expires.astimezone(zone),
        topic=rule.key,
        link=rule.link,
        urgency=rule.urgency,
        params=params,
        still=still,
    )


def _nominal_fire(rule, start, ends, zone, protocol, settings) -> datetime | None:
    """Return the local instant the rule speaks up, before quiet hours are applied."""
    if rule.anchor == "end":
        return _window_end(rule, start, ends, zone)
    if rule.anchor == "before" and rule.windows:
        (key,) = rule.windows
        window = protocol.windows[key]
        # Said when the window starts, however long the clinic made it; a zero window: never.
        return (start - window).astimezone(zone) if window > timedelta(0) else None
    if rule.day is None:
        local = start.astimezone(zone)
        fire = (start + rule.offset).astimezone(zone)
        if rule.before_quiet is not None:
            fire = min(fire, quiet_start_after(local, settings) - rule.before_quiet)
            fire = max(fire, local + p.SESSION_DAY_EARLIEST)
        return fire
    clock = settings.morning if rule.clock == "morning" else parse_clock(rule.clock)
    return at_clock(start.astimezone(zone).date() + timedelta(days=rule.day), clock, zone)


def _window_end(rule, start, ends, zone) -> datetime | None:
    """When an "OK again" rule speaks: as its windows end (one reminder, or one each)."""
    if any(ends[key] <= start for key in rule.windows):
        return None  # a zero window: nothing was ever off, so nothing is "OK again"
    if rule.together is not None:
        together = len({ends[key] for key in rule.group}) == 1
        if together != rule.together:
            return None
    return max(ends[key] for key in rule.windows).astimezone(zone)


def quiet_start_after(local: datetime, settings: Settings) -> datetime:
    """Return the next start of the quiet hours at or after ``local`` (far away if none)."""
    if settings.quiet_start == settings.quiet_end:
        return local + timedelta(days=365)
    zone = local.tzinfo
    assert zone is not None, "an aware local time"
    start = at_clock(local.date(), settings.quiet_start, zone)
    if start < local:
        start = at_clock(local.date() + timedelta(days=1), settings.quiet_start, zone)
    return start


def window_ends(start: datetime, protocol: p.Protocol) -> dict[str, datetime]:
    """Return when each after-session window of this session ends (UTC)."""
    return protocol.window_ends(start)


def text_for(planned: Planned) -> p.ReminderText:
    """Return the rule's text variant for the categories the patient has on."""
    return p.REMINDER_RULES[planned.rule].texts[planned.categories]


def preview(
    course: recovery.CourseLike,
    sessions: Sequence[datetime],
    protocol: p.Protocol = p.DEFAULT_PROTOCOL,
    settings: Settings = DEFAULT_SETTINGS,
    wording: reminder_texts.Wording = reminder_texts.ENGLISH,
) -> list[dict[str, str]]:
    """Return what the patient will receive, in order: [{"key", "at", "title", "body"}].

    The same schedule and texts the worker sends (after quiet hours, in the patient's zone;
    ``at`` is ISO 8601 with the zone's offset), for the CLI and the staff patient page.
    """
    zone = ZoneInfo(course.timezone)
    items = []
    for item in schedule(course, sessions, protocol, settings):
        rule = p.REMINDER_RULES[item.rule]
        title, body = reminder_texts.render(
            rule, item.categories, item.anchor_at, item.fire_at, protocol, zone,
            settings.discreet, wording)
        items.append({"key": item.rule, "at": item.fire_at.isoformat(timespec="seconds"),
                      "title": title, "body": body})
    return items
