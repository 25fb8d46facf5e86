"""The course as calendar events, and those events as an iCalendar file. Pure: no Flask, no DB.

What a patient's calendar shows:
- the sessions the clinic recorded or booked. The rest of the plan is projected, a guess of the
  date: a phone's calendar would show it as a fact, so it stays on Today and the Timeline;
- each session's "OK again" moments: the window-end rules of the reminder plan
  (reminders.schedule: the same rules, the same categories the patient chose, none when the
  next session restarts the window), at the instant the windows end. Unlike a push, a calendar
  event does not ring, so it sits at the real moment, quiet hours or not.

Every UID comes from the course, the session's row and the rule, never from a time: a session
the clinic moves keeps its UID, so calendars move the event instead of adding another.
Instants are written in UTC (calendars show them in the phone's own zone); windows are
absolute, so an "OK again" 48 h after a session falls an hour later on the wall clock across a
daylight-saving change, as on Today.

Texts are the reminders' own (reminder_texts.render) and the few below; discreet calendars
say "Appointment" and "Reminder" and name neither the treatment nor the clinic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from meso import protocol as p
from meso import recovery, reminder_texts, reminders
from meso.protocol_base import N_

PRODID = "-//Meso aftercare//Course calendar//EN"
# Clinic practice, not the guide: the app knows when a session starts, not how long the clinic
# books it for; an hour keeps the visit free in the patient's day.
SESSION_LENGTH = timedelta(hours=1)
# An "OK again" is a moment; a short block shows its title in every calendar's day view and,
# marked free (TRANSP), takes no time from the patient's day.
MOMENT_LENGTH = timedelta(minutes=15)
SESSION_ALARM = timedelta(days=1)  # before a session, for calendars that keep alarms
# How often subscribed calendars should look again (those that honour the hint): a session
# moved by the clinic shows within about this long.
REFRESH = timedelta(hours=1)

CALENDAR_NAME = N_("Aftercare at %(clinic)s")
CALENDAR_NAME_DISCREET = N_("My appointments")
SESSION_TITLE = N_("Mesotherapy session %(n)d of %(of)d")
SESSION_TITLE_DISCREET = N_("Appointment")
SESSION_WHERE = N_("Your session at %(clinic)s.")
SESSION_CHANGE = N_("To move or cancel it, contact your clinic.")
SESSION_CHANGE_PHONE = N_("To move or cancel it, call your clinic: %(phone)s.")
MORE = N_("More in your aftercare: %(url)s")


@dataclass(frozen=True)
class KnownSession:
    """A session the clinic recorded or booked: its row's id (stable when it moves)."""

    id: int
    starts_at: datetime  # aware


@dataclass(frozen=True)
class About:
    """What the events say besides the plan, and where their UIDs live."""

    course_id: int
    clinic: str
    phone: str
    url: str  # the patient's Today, on MESO_BASE_URL
    domain: str  # MESO_BASE_URL's host: UIDs are unique to this app


@dataclass(frozen=True)
class CalendarEvent:
    uid: str
    kind: str  # "session" | "ok_again"
    starts_at: datetime  # UTC
    ends_at: datetime  # UTC
    title: str
    description: str
    location: str = ""

    @property
    def busy(self) -> bool:
        return self.kind == "session"


def session_uid(about: About, session_id: int, rule: str = "") -> str:
    suffix = f"-{rule}" if rule else ""
    return f"course-{about.course_id}-session-{session_id}{suffix}@{about.domain}"


def events(
    course: recovery.CourseLike,
    sessions: Sequence[KnownSession],
    about: About,
    protocol: p.Protocol = p.DEFAULT_PROTOCOL,
    settings: reminders.Settings = reminders.DEFAULT_SETTINGS,
    wording: reminder_texts.Wording = reminder_texts.ENGLISH,
) -> list[CalendarEvent]:
    """Return the course's events in time order: its known sessions and their "OK again"."""
    zone = ZoneInfo(course.timezone)
    say = wording.gettext
    known = sorted(sessions, key=lambda s: recovery.to_utc(s.starts_at))
    more = say(MORE) % {"url": about.url}
    found = []
    for number, session in enumerate(known, 1):
        start = recovery.to_utc(session.starts_at)
        if settings.discreet:
            title, lines, location = say(SESSION_TITLE_DISCREET), [more], ""
        else:
            title = say(SESSION_TITLE) % {"n": number, "of": course.planned_sessions}
            change = (say(SESSION_CHANGE_PHONE) % {"phone": about.phone} if about.phone
                      else say(SESSION_CHANGE))
            lines = [say(SESSION_WHERE) % {"clinic": about.clinic}, change, more]
            location = about.clinic
        found.append(CalendarEvent(session_uid(about, session.id), "session", start,
                                   start + SESSION_LENGTH, title, "\n".join(lines), location))
    planned = reminders.schedule(course, [s.starts_at for s in known], protocol, settings)
    for item in planned:
        rule = p.REMINDER_RULES[item.rule]
        if rule.anchor != "end":
            continue
        ends = protocol.window_ends(item.anchor_at)
        at = max(ends[key] for key in rule.windows)
        title, body = reminder_texts.render(rule, item.categories, item.anchor_at, at, protocol,
                                            zone, settings.discreet, wording)
        session = known[item.session - 1]
        found.append(CalendarEvent(session_uid(about, session.id, rule.key), "ok_again", at,
                                   at + MOMENT_LENGTH, title, f"{body}\n{more}"))
    return sorted(found, key=lambda e: (e.starts_at, e.uid))


def to_ical(
    found: Sequence[CalendarEvent],
    *,
    name: str,
    uid: str,
    zone: str,
    url: str,
    stamp: datetime,
    sequence: int,
    publish: bool = False,
) -> bytes:
    """Return the events as an iCalendar (RFC 5545) file.

    ``url`` (the patient's Today) is every event's URL; ``stamp`` is every event's DTSTAMP and
    ``sequence`` its SEQUENCE. A subscribed feed
    (``publish`` False, no METHOD) stamps when its content last changed, so it reads the same
    until something changes; a one-off file is METHOD:PUBLISH, stamped when it was made, so a
    calendar importing it again takes it for the newer copy.
    """
    # icalendar is loaded with the first calendar file, not with the app (~10 MB a worker).
    from icalendar import CLASS, STATUS, TRANSP, Alarm, Calendar, Event, vDuration

    calendar = Calendar.new(prodid=PRODID, uid=uid, name=name, calscale="GREGORIAN",
                            method="PUBLISH" if publish else None)
    # RFC 7986's refresh hint (its VALUE parameter is required), and the older one Apple and
    # Microsoft read; X-WR-TIMEZONE sets the zone Google shows a new calendar in.
    calendar.add("REFRESH-INTERVAL", vDuration(REFRESH), parameters={"VALUE": "DURATION"})
    calendar.add("X-PUBLISHED-TTL", vDuration(REFRESH))
    calendar.add("X-WR-TIMEZONE", zone)
    for item in found:
        event = Event.new(
            uid=item.uid, summary=item.title, description=item.description,
            start=item.starts_at, end=item.ends_at, stamp=stamp, sequence=sequence, url=url,
            location=item.location or None, status=STATUS.CONFIRMED,
            transparency=TRANSP.OPAQUE if item.busy else TRANSP.TRANSPARENT,
            # Shared or delegated calendars show a private event as busy time only.
            classification=CLASS.PRIVATE,
        )
        if item.kind == "session":
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("trigger", -SESSION_ALARM)
            alarm.add("description", item.title)
            event.add_component(alarm)
        calendar.add_component(event)
    return calendar.to_ical()
