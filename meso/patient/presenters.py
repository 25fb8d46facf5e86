"""Shape planner output for the patient pages (no rules here: those live in recovery.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from meso.recovery import DayPlan, TimelineDay

QUIET_RUN = 3  # this many uneventful days in a row fold into one line
# Days after a session on which Today shows the warning signs right after "Normal today",
# before the check-in and reminder cards: the days something can still go wrong.
RED_FLAGS_FIRST_DAYS = range(0, 8)


def red_flags_first(plan: DayPlan) -> bool:
    """Whether Today puts its "contact your clinic if" card up front (days 0-7 after a
    session); on other days it stands lower, after the check-in and reminder cards."""
    return plan.sessions_done >= 1 and plan.day in RED_FLAGS_FIRST_DAYS


@dataclass(frozen=True)
class TimelineRow:
    first: TimelineDay
    last: TimelineDay  # same as first for a single day
    state: str  # "past" | "today" | "future"

    @property
    def is_range(self) -> bool:
        return self.first is not self.last


@dataclass(frozen=True)
class TimelineBlock:
    """The days between two sessions (or before the first), headed by that session."""

    sessions_done: int
    rows: list[TimelineRow]


def timeline_blocks(days: list[TimelineDay], today: date) -> list[TimelineBlock]:
    """Group days by session, folding runs of quiet days so a long course stays readable."""
    blocks: list[TimelineBlock] = []
    for day in days:
        if not blocks or blocks[-1].sessions_done != day.sessions_done:
            blocks.append(TimelineBlock(day.sessions_done, []))
        rows = blocks[-1].rows
        state = "past" if day.date < today else "today" if day.date == today else "future"
        previous = rows[-1] if rows else None
        if (
            previous is not None
            and _quiet(day, state)
            and _quiet(previous.last, previous.state)
            and previous.state == state
            and previous.last.phase == day.phase
        ):
            rows[-1] = TimelineRow(previous.first, day, state)
        else:
            rows.append(TimelineRow(day, day, state))
    for block in blocks:
        block.rows[:] = _unfold_short_runs(block.rows)
    return blocks


def _quiet(day: TimelineDay, state: str) -> bool:
    return not day.events and state != "today"


def _unfold_short_runs(rows: list[TimelineRow]) -> list[TimelineRow]:
    """Show runs shorter than QUIET_RUN day by day: folding two days saves nothing."""
    out = []
    for row in rows:
        length = (row.last.date - row.first.date).days + 1
        if row.is_range and length < QUIET_RUN:
            out += [TimelineRow(row.first, row.first, row.state),
                    TimelineRow(row.last, row.last, row.state)]
        else:
            out.append(row)
    return out
