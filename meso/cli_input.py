"""Command-line input: course options, times, windows and quiet hours, each checked with a
one-line error (a ClickException: exit status 1, no traceback)."""

from __future__ import annotations

import re
from datetime import datetime, time

import click

from meso import locales, protocol, timeutil


def course_options(command):
    """The options that describe a course: --area, --session, --tz, --sessions, --interval-weeks."""
    options = [
        click.option("--area", required=True, help="face, scalp or body"),
        click.option("--session", "session_text", required=True,
                     help="First session, local ISO time."),
        click.option("--tz", "tz_name", required=True, help="IANA time zone, e.g. Europe/Rome."),
        click.option("--sessions", "sessions_text", default=str(protocol.DEFAULT_SESSIONS),
                     show_default=True),
        click.option("--interval-weeks", "interval_text",
                     default=str(protocol.DEFAULT_INTERVAL_WEEKS), show_default=True),
    ]
    for option in reversed(options):
        command = option(command)
    return command


class CourseArgs:
    """A course as given on the command line (the planner's CourseLike)."""

    def __init__(self, area: str, timezone: str, planned_sessions: int, interval_weeks: int):
        self.area = area
        self.timezone = timezone
        self.planned_sessions = planned_sessions
        self.interval_weeks = interval_weeks


def parse_course(area: str, tz_name: str, sessions_text: str, interval_text: str) -> CourseArgs:
    """Validate course options; every problem is a one-line ClickException."""
    if area not in protocol.AREAS:
        raise click.ClickException(
            f"unknown area {area!r} (choose one of: {', '.join(protocol.AREAS)})"
        )
    try:
        timeutil.zone(tz_name)
    except timeutil.TimeInputError as exc:
        raise click.ClickException(str(exc)) from None
    planned = parse_range("--sessions", sessions_text, protocol.SESSIONS_RANGE)
    interval = parse_range("--interval-weeks", interval_text, protocol.INTERVAL_RANGE)
    return CourseArgs(area, tz_name, planned, interval)


def parse_range(option: str, text: str, bounds: tuple[int, int]) -> int:
    low, high = bounds
    try:
        value = int(text)
    except ValueError:
        raise click.ClickException(f"{option} must be a whole number, not {text!r}") from None
    if not low <= value <= high:
        raise click.ClickException(f"{option} must be between {low} and {high}, not {value}")
    return value


def parse_time(text: str, tz_name: str) -> datetime:
    try:
        return timeutil.parse_instant(text, timeutil.zone(tz_name))
    except timeutil.TimeInputError as exc:
        raise click.ClickException(str(exc)) from None


WINDOW = re.compile(r"([a-z_]+)=([0-9]+)")


def parse_windows(texts: tuple[str, ...]) -> protocol.Protocol:
    """Return the default protocol with ``--window KEY=HOURS`` options applied (later wins)."""
    hours = {}
    for text in texts:
        match = WINDOW.fullmatch(text.strip())
        if match is None:
            raise click.ClickException(
                f"--window must be KEY=HOURS, like heat=72, not {text!r} (keys: "
                f"{', '.join(protocol.RESTRICTIONS)})")
        hours[match[1]] = int(match[2])
    try:
        return protocol.DEFAULT_PROTOCOL.with_overrides(hours)
    except ValueError as exc:
        raise click.ClickException(f"--window {exc}") from None


QUIET = re.compile(r"([0-9]{1,2}:[0-9]{2})-([0-9]{1,2}:[0-9]{2})")


def parse_quiet(text: str) -> tuple[time, time]:
    """Return quiet hours given as HH:MM-HH:MM (they may run past midnight)."""
    match = QUIET.fullmatch(text.strip())
    try:
        if match is None:
            raise ValueError
        start, end = (time.fromisoformat(part.zfill(5)) for part in match.groups())
    except ValueError:
        raise click.ClickException(
            f"--quiet must be HH:MM-HH:MM, like 21:00-08:00, not {text!r}") from None
    if start == end:
        raise click.ClickException("--quiet must start and end at different times")
    return start, end


def parse_lang(text: str | None) -> str | None:
    """Return --lang as a supported language code (None when not given)."""
    if text is None:
        return None
    try:
        return locales.check(text)
    except locales.UnsupportedLanguage as exc:
        raise click.ClickException(f"--lang {exc}") from None
