"""The vocabulary every protocol table shares: the translation mark, areas, phases, and where a
rule comes from. A leaf module (no imports from meso), so that the tables in protocol.py,
daily_lines.py, reminder_rules.py and checkin_rules.py can all use it without import cycles.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from babel.dates import format_timedelta


def N_(text: str) -> str:  # noqa: N802 - gettext's own name for the marker, which Babel finds
    """Mark a text for translation; it is translated where it is shown (gettext_noop)."""
    return text


AREAS = ("face", "scalp", "body")
PHASES = ("preparation", "immediate", "first_weeks", "cumulative")

# Where a rule comes from. Guide rules quote the clinic's patient guide in ``source``; clinic
# practice is what clinics commonly do (the clinic can change it); clinical caution is ordinary
# medical prudence that the guide does not spell out (red flags, when to call).
GUIDE = "guide"
CLINIC_PRACTICE = "clinic practice"
CLINICAL_CAUTION = "clinical caution"
BASES = (GUIDE, CLINIC_PRACTICE, CLINICAL_CAUTION)

# Local days since the latest session, both ends included; None leaves that end open.
Days = tuple[int | None, int | None]
ANY_DAY: Days = (None, None)


def in_days(day: int, days: Days) -> bool:
    first, last = days
    return (first is None or day >= first) and (last is None or day <= last)


def duration_words(window: timedelta, locale: str = "en_GB") -> str:
    """Return a window as people say it, exactly: "2 days", "36 hours", "7 days", "3 weeks".

    The unit is the largest that measures the window exactly (36 hours is never rounded to
    "2 days"; weeks from two on); Babel's CLDR data words it and picks the plural form for
    the locale, so no catalogue needs a plural entry per unit.
    """
    seconds = int(window.total_seconds())
    unit: Literal["week", "day", "hour", "minute"]
    if seconds >= 14 * 86400 and seconds % (7 * 86400) == 0:
        unit = "week"
    elif seconds and seconds % 86400 == 0:
        unit = "day"
    elif seconds % 3600 == 0:
        unit = "hour"
    else:
        unit = "minute"
    # A threshold no value reaches makes Babel use exactly the granularity's unit.
    return format_timedelta(window, granularity=unit, threshold=10**12, locale=locale)
