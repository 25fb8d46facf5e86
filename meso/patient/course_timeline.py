"""The Timeline page: the course as cycles, one per session, shaped to fit on a phone.

The cycle the patient is in is shown day by day; every other one is one line ("Session 2 ·
week of 20 Dec · same aftercare") that opens to its days. Inside a cycle, days with nothing
to say fold into one row ("Mon 23 Nov - Thu 26 Nov"), and what happens at one instant is said
once ("OK again from 10:00: sauna…, time outdoors…, your usual makeup"). No rules here: the
days and their events come from recovery.timeline().
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from itertools import groupby

from meso.recovery import Event, TimelineDay


@dataclass(frozen=True)
class Moment:
    """The events of one kind at one instant, told in one line."""

    kind: str  # "session" | "ends" | "starts" (recovery.Event.kind)
    at: datetime  # local
    keys: tuple[str, ...] = ()  # the restrictions ending or starting then
    number: int = 0  # for "session"
    booked: bool = True  # for "session": False when projected from the plan's interval


@dataclass(frozen=True)
class TimelineRow:
    """One day, or a run of days with nothing to say, in the same state and phase."""

    first: TimelineDay
    last: TimelineDay  # same as first for a single day
    state: str  # "past" | "today" | "future"
    moments: tuple[Moment, ...]

    @property
    def is_range(self) -> bool:
        return self.first is not self.last


@dataclass(frozen=True)
class Cycle:
    """A session and the days up to the next one; number 0 is the days before the first."""

    number: int
    state: str  # "past" | "current" | "future"
    rows: tuple[TimelineRow, ...]

    @property
    def first_day(self) -> date:
        return self.rows[0].first.date

    @property
    def last_day(self) -> date:
        return self.rows[-1].last.date

    @property
    def session(self) -> Moment | None:
        """The session that opens the cycle (on its first day); None before the first one."""
        if self.number == 0:
            return None
        return next((m for m in self.rows[0].moments if m.kind == "session"), None)


def cycles(days: list[TimelineDay], today: date) -> list[Cycle]:
    """Group the course's days by session. The current cycle is the one today falls in (the
    last one once the course's days are over)."""
    groups = [list(group) for _, group in groupby(days, key=lambda d: d.sessions_done)]
    started = [i for i, group in enumerate(groups) if group[0].date <= today]
    current = started[-1] if started else 0
    return [
        Cycle(
            number=group[0].sessions_done,
            state="past" if i < current else "current" if i == current else "future",
            rows=tuple(_rows(group, today)),
        )
        for i, group in enumerate(groups)
    ]


def moments(events: tuple[Event, ...]) -> tuple[Moment, ...]:
    """Merge events of the same kind at the same instant into one moment, in time order."""
    merged: dict[tuple, Moment] = {}
    for event in sorted(events, key=lambda e: e.at):
        slot = (event.kind, event.at, event.number)
        known = merged.get(slot)
        if known is None:
            keys = (event.key,) if event.key else ()
            merged[slot] = Moment(event.kind, event.at, keys, event.number, event.booked)
        else:
            merged[slot] = Moment(known.kind, known.at, (*known.keys, event.key),
                                  known.number, known.booked)
    return tuple(merged.values())


def _rows(days: list[TimelineDay], today: date) -> list[TimelineRow]:
    """One row a day, except that quiet days in a row (same state and phase) share one."""
    rows: list[TimelineRow] = []
    for day in days:
        state = "past" if day.date < today else "today" if day.date == today else "future"
        previous = rows[-1] if rows else None
        if (previous is not None and _quiet(day, state) and _quiet(previous.last, previous.state)
                and previous.state == state and previous.last.phase == day.phase):
            rows[-1] = TimelineRow(previous.first, day, state, ())
        else:
            rows.append(TimelineRow(day, day, state, moments(day.events)))
    return rows


def _quiet(day: TimelineDay, state: str) -> bool:
    return not day.events and state != "today"
