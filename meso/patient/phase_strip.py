"""The phase strip on Today: one session's aftercare as a progress line with dates.

"Settling · to Tue 1 Dec", "Recovering · to 19 Dec", "Session 2 · week of 20 Dec": the steps
from the latest session to the next one, each with the last day it lasts, so that the strip
says where the patient is in this cycle and until when, instead of naming three phases like
tabs. Pure: the planner's DayPlan and the patient's protocol in, steps out; the template
(templates/patient/_phase_strip.html) words and dates them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from meso.protocol import Protocol
from meso.recovery import DayPlan, NextSession

# A date this many days ahead or fewer is named with its weekday ("Tue 1 Dec"): within the
# coming week people think in weekdays; further off the weekday is one more thing to read.
NEAR_DAYS = 6


@dataclass(frozen=True)
class Step:
    """One step of the strip: a phase of this session's aftercare, or the next session."""

    key: str  # a phase of protocol.PHASES, or "session"
    state: str  # "done" | "current" | "ahead"
    until: date | None = None  # the last day the step lasts: "to 19 Dec"
    since: date | None = None  # the first day of a step with no end: "from 19 Feb"
    session: NextSession | None = None  # the session a "session" step stands for
    near: bool = False  # its date is in the coming week: named with the weekday


def steps(plan: DayPlan, protocol: Protocol) -> tuple[Step, ...]:
    """Return the strip's steps for this plan: from the latest session (or, before the first,
    from now) to the next session, or to "Over your course" after the last one."""
    today = plan.at.date()
    raw = _preparation(plan, protocol) if plan.phase == "preparation" else _cycle(plan, protocol)
    keys = [step.key for step in raw]
    current = keys.index(plan.phase) if plan.phase in keys else -1
    steps = []
    for index, step in enumerate(raw):
        state = "done" if index < current else "current" if index == current else "ahead"
        shown = step.until or step.since or (
            step.session.starts_at.date() if step.session else None)
        near = shown is not None and 0 <= (shown - today).days <= NEAR_DAYS
        steps.append(Step(step.key, state, step.until, step.since, step.session, near))
    return tuple(steps)


def _preparation(plan: DayPlan, protocol: Protocol) -> list[Step]:
    """Before the first session: getting ready, the session, then the first days after it."""
    first = plan.next_session
    assert first is not None, "a course in preparation has its first session ahead"
    return [
        Step("preparation", ""),
        Step("session", "", session=first),
        Step("immediate", "", until=(first.starts_at + protocol.immediate).date()),
    ]


def _cycle(plan: DayPlan, protocol: Protocol) -> list[Step]:
    """From the latest session: each phase to its last day, cut short by the next session."""
    start = plan.session_at
    upcoming = plan.next_session
    # A next session still to come ends this cycle; an overdue one (its planned date passed
    # with no session recorded) ends nothing: the phases run on by the time since the last.
    bound = upcoming.starts_at if upcoming and not upcoming.overdue else None
    ends: list[tuple[str, datetime | None]] = [
        ("immediate", start + protocol.immediate),
        ("first_weeks", start + protocol.first_weeks),
        ("cumulative", None),
    ]
    steps: list[Step] = []
    previous_end = start
    for key, end in ends:
        if bound is not None and (end is None or end >= bound):
            # The day before the session: the session's own day belongs to the session.
            steps.append(Step(key, "", until=bound.date() - timedelta(days=1)))
            break
        if end is None:
            steps.append(Step(key, "", since=previous_end.date()))
        else:
            steps.append(Step(key, "", until=end.date()))
            previous_end = end
    if upcoming is not None:
        steps.append(Step("session", "", session=upcoming))
    return steps
