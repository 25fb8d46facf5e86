"""Shape planner output for the patient pages (no rules here: those live in recovery.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from meso import protocol as p
from meso.recovery import DayPlan


@dataclass(frozen=True)
class AvoidRow:
    """Restrictions that end at the same instant: one row of Today's "Avoid for now"."""

    until: datetime
    keys: tuple[str, ...]
    # Ends at the next session (tanning beds): "until your session", never "OK" in a course.
    until_session: bool = False


@dataclass(frozen=True)
class AllowedRow:
    """Restrictions of the latest session that ended at the same instant ("OK again")."""

    since: datetime
    keys: tuple[str, ...]


def avoid_rows(plan: DayPlan) -> list[AvoidRow]:
    """Group what to avoid by the instant it ends, soonest first, so that two different
    Sundays can never share a line and the same instant is said once."""
    groups: dict[tuple[datetime, bool], list[str]] = {}
    for item in plan.avoid:
        before = p.RESTRICTIONS[item.key].anchor == "before"
        groups.setdefault((item.until, before), []).append(item.key)
    return [AvoidRow(until, tuple(keys), before)
            for (until, before), keys in sorted(groups.items(), key=lambda kv: kv[0])]


def allowed_rows(plan: DayPlan) -> list[AllowedRow]:
    """Group what is fine again by the instant it became fine, earliest first."""
    groups: dict[datetime, list[str]] = {}
    for item in plan.allowed_again:
        groups.setdefault(item.since, []).append(item.key)
    return [AllowedRow(since, tuple(keys)) for since, keys in sorted(groups.items())]
