"""Tests of local-time input handling (meso/timeutil.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meso.timeutil import TimeInputError, local_to_utc, parse_instant, zone, zone_names

ROME = ZoneInfo("Europe/Rome")
NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("wall", "tz", "utc"),
    [
        (datetime(2026, 11, 20, 10, 0), ROME, datetime(2026, 11, 20, 9, 0, tzinfo=UTC)),
        (datetime(2026, 7, 1, 10, 0), ROME, datetime(2026, 7, 1, 8, 0, tzinfo=UTC)),
        (datetime(2026, 3, 29, 1, 59), ROME, datetime(2026, 3, 29, 0, 59, tzinfo=UTC)),
        (datetime(2026, 3, 29, 3, 0), ROME, datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
        # Ambiguous (the clocks go back): the first occurrence, as clinics mean it.
        (datetime(2026, 10, 25, 2, 30), ROME, datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
        (datetime(2026, 11, 1, 1, 30), NEW_YORK, datetime(2026, 11, 1, 5, 30, tzinfo=UTC)),
        (datetime(2026, 11, 20, 10, 0), NEW_YORK, datetime(2026, 11, 20, 15, 0, tzinfo=UTC)),
    ],
)
def test_local_to_utc(wall, tz, utc):
    """A local wall-clock time becomes its UTC instant."""
    result = local_to_utc(wall, tz)
    assert result == utc
    assert result.tzinfo is UTC


@pytest.mark.parametrize(
    ("wall", "tz"),
    [
        (datetime(2026, 3, 29, 2, 30), ROME),
        (datetime(2026, 3, 29, 2, 0), ROME),
        (datetime(2026, 3, 8, 2, 30), NEW_YORK),
    ],
)
def test_local_to_utc_refuses_times_skipped_by_dst(wall, tz):
    """A local time skipped by spring-forward does not exist: refused, not guessed."""
    with pytest.raises(TimeInputError, match="does not exist"):
        local_to_utc(wall, tz)


def test_local_to_utc_wants_a_naive_time():
    """An aware datetime is a programming error, not a person's input."""
    with pytest.raises(ValueError, match="naive") as info:
        local_to_utc(datetime(2026, 11, 20, 10, 0, tzinfo=UTC), ROME)
    assert not isinstance(info.value, TimeInputError)


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2026-11-20T10:00", datetime(2026, 11, 20, 9, 0, tzinfo=UTC)),
        ("  2026-11-20 10:00  ", datetime(2026, 11, 20, 9, 0, tzinfo=UTC)),
        ("2026-11-20T10:00+05:30", datetime(2026, 11, 20, 4, 30, tzinfo=UTC)),
        ("2026-11-20T10:00-05:00", datetime(2026, 11, 20, 15, 0, tzinfo=UTC)),
        ("2026-11-20T10:00Z", datetime(2026, 11, 20, 10, 0, tzinfo=UTC)),
        # An explicit offset wins, even at a local time that Rome skips.
        ("2026-03-29T02:30+01:00", datetime(2026, 3, 29, 1, 30, tzinfo=UTC)),
        ("2026-10-25T02:30", datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
        ("2026-10-25T02:30+01:00", datetime(2026, 10, 25, 1, 30, tzinfo=UTC)),
    ],
)
def test_parse_instant(text, utc):
    """ISO 8601 text is a UTC instant; without an offset it is local time in the zone."""
    result = parse_instant(text, ROME)
    assert result == utc
    assert result.utcoffset().total_seconds() == 0


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "tomorrow",
        "20/11/2026 10:00",
        "2026-13-01T10:00",
        "2026-11-31T10:00",
        "2026-11-20T25:00",
        "2026-11-20T10:00+25:00",
        "2026-03-29T02:30",  # skipped in Rome
        "0001-01-01T00:00",  # before year 1 in UTC
        "0001-01-01T00:00+01:00",
        "9999-12-31T23:59-05:00",  # after year 9999 in UTC
    ],
)
def test_parse_instant_rejects(text):
    """Garbage, impossible dates and out-of-range instants are a TimeInputError."""
    with pytest.raises(TimeInputError):
        parse_instant(text, ROME)


@given(st.text(max_size=40))
def test_parse_instant_never_crashes(text):
    """Any text is either an aware UTC instant or a TimeInputError, never another error."""
    try:
        result = parse_instant(text, NEW_YORK)
    except TimeInputError:
        return
    assert result.utcoffset().total_seconds() == 0


@given(st.datetimes(datetime(2000, 1, 1), datetime(2040, 12, 31)))
def test_local_to_utc_round_trips(wall):
    """Every accepted local time converts back to itself; refused ones are in a DST gap."""
    try:
        instant = local_to_utc(wall, ROME)
    except TimeInputError:
        # Rome skips 02:00-02:59 on the last Sunday of March.
        assert (wall.month, wall.weekday(), wall.hour) == (3, 6, 2)
        assert wall.day >= 25
        return
    assert instant.astimezone(ROME).replace(tzinfo=None) == wall


@pytest.mark.parametrize("name", ["Europe/Rome", "America/New_York", "Asia/Kolkata", "UTC"])
def test_zone_accepts_iana_names(name):
    """Known IANA names give their zone."""
    assert zone(name) == ZoneInfo(name)
    assert zone(name).key == name


@pytest.mark.parametrize(
    "name", ["", "Mars/Olympus", "europe/rome", "Rome", "CET+1", "../etc/passwd", "Europe/"]
)
def test_zone_rejects_unknown_names(name):
    """Anything that is not a listed IANA name is a TimeInputError."""
    with pytest.raises(TimeInputError, match="unknown time zone"):
        zone(name)


def test_zone_names_for_pickers():
    """The picker list is sorted, has the usual zones and no Etc/ or bare names."""
    names = zone_names()
    assert names == sorted(names)
    assert {"Europe/Rome", "America/New_York", "Asia/Kathmandu"} <= set(names)
    assert not [n for n in names if n.startswith(("Etc/", "SystemV")) or "/" not in n]
