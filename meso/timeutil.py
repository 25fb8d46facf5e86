"""Local wall-clock times to UTC instants and back, with DST gaps refused, not guessed."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

# A clinic's zone until it says otherwise (the first clinics are Italian); the demo's too.
DEFAULT_ZONE_NAME = "Europe/Rome"


class TimeInputError(ValueError):
    """A date, time or zone a person typed that cannot be used; the message says why."""


class SkippedTime(TimeInputError):
    """A wall-clock time the clocks skip (spring forward) in a zone; staff forms say so in
    the staff member's language (meso/staff/forms.py)."""

    def __init__(self, wall: datetime, zone: str):
        self.wall, self.zone = wall, zone
        super().__init__(f"{wall:%Y-%m-%d %H:%M} does not exist in {zone}: "
                         "the clocks change that night")


def zone(name: str) -> ZoneInfo:
    """Return the IANA zone called ``name`` or raise TimeInputError."""
    if not name or name not in _zone_names():
        raise TimeInputError(f"unknown time zone {name!r} (use an IANA name like Europe/Rome)")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:  # pragma: no cover - listed but broken
        raise TimeInputError(f"unknown time zone {name!r}") from exc


def _zone_names() -> set[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = available_timezones()
    return _ZONES


_ZONES: set[str] | None = None


def zone_names() -> list[str]:
    """Return the IANA zone names, sorted, for pickers."""
    return sorted(n for n in _zone_names() if "/" in n and not n.startswith(("Etc/", "SystemV")))


# Plans reach years past a session; these bounds keep every computed instant representable.
YEARS = (1900, 2200)


def _in_range(instant: datetime, text: str) -> datetime:
    if not YEARS[0] <= instant.year <= YEARS[1]:
        raise TimeInputError(f"{text} is out of range (years {YEARS[0]}-{YEARS[1]})")
    return instant


def local_to_utc(wall: datetime, tz: ZoneInfo) -> datetime:
    """Return the UTC instant of a naive local wall-clock time in ``tz``.

    A time that does not exist (skipped by a spring-forward change) is refused; an ambiguous
    one (repeated by a fall-back change) is the first occurrence, as clinics mean it.
    """
    if wall.tzinfo is not None:
        raise ValueError("expected a naive wall-clock time")
    try:
        instant = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    except OverflowError as exc:  # year 1 or 9999 pushed past the calendar by the offset
        raise TimeInputError(f"{wall:%Y-%m-%d %H:%M} is out of range") from exc
    if instant.astimezone(tz).replace(tzinfo=None) != wall:
        raise SkippedTime(wall, tz.key)
    return _in_range(instant, f"{wall:%Y-%m-%d %H:%M}")


def iso(instant: datetime) -> str:
    """Return an instant as ISO 8601 to the second, with its offset (the public JSON's form)."""
    return instant.isoformat(timespec="seconds")


def parse_instant(text: str, tz: ZoneInfo) -> datetime:
    """Parse ISO 8601 text as a UTC instant; without an offset it is local time in ``tz``."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise TimeInputError(f"not a date and time: {text!r} (use 2026-11-20T10:00)") from exc
    if parsed.tzinfo is not None:
        try:
            return _in_range(parsed.astimezone(UTC), repr(text))
        except OverflowError as exc:
            raise TimeInputError(f"not a usable date and time: {text!r}") from exc
    return local_to_utc(parsed, tz)
