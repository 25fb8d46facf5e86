"""Shape planner output for the patient pages (no rules here: those live in recovery.py)."""

from __future__ import annotations

from meso.recovery import DayPlan

# Days after a session on which Today shows the warning signs right after "Normal today",
# before the check-in and reminder cards: the days something can still go wrong.
RED_FLAGS_FIRST_DAYS = range(0, 8)


def red_flags_first(plan: DayPlan) -> bool:
    """Whether Today puts its "contact your clinic if" card up front (days 0-7 after a
    session); on other days it stands lower, after the check-in and reminder cards."""
    return plan.sessions_done >= 1 and plan.day in RED_FLAGS_FIRST_DAYS
