"""The aftercare protocol as data: areas, phases, restrictions, and the clinic's windows.

Everything a patient reads about their recovery comes from this module and the tables it
gathers (daily_lines, reminder_rules, checkin_rules), so that the web pages, the JSON API, the
CLI and the reminder scheduler tell one truth, and so that translators find every text in one
place. No Flask and no database here: the planner and its tests import it as plain Python.

Facts come from the shared patient guide (`reference/mesotherapy-patient-guide.txt`); each
rule's ``source`` quotes the words it rests on, or its ``basis`` says it is clinic practice
(which the clinic can change) or clinical caution. Patient texts are our own wording, and
name no duration that a clinic's window can change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from types import MappingProxyType

from meso.checkin_rules import (  # noqa: F401 - re-exported: templates read them as p.*
    ADVICE_FOR_TODAY,
    ADVICE_LEVELS,
    ADVICE_RULES,
    ADVICE_TEXTS,
    ADVICE_TITLES,
    AFTER_EMERGENCY,
    CALL_CLINIC_NO_PHONE,
    CHECKIN_EMERGENCY_FLAGS,
    CHECKIN_FEELINGS,
    CHECKIN_FLAGS,
    CHECKIN_FLAGS_QUESTION,
    CHECKIN_QUESTION,
    CHECKIN_SIGNS,
    CHECKIN_SIGNS_QUESTION,
    CHECKIN_TREND_QUESTION,
    CHECKIN_TRENDS,
    NOT_READ_AT_ONCE,
    NOTHING_UNUSUAL,
    SIGN_LEVELS,
    AdviceRule,
)
from meso.daily_lines import (  # noqa: F401 - re-exported
    CLOSED_NOW,
    COURSE_BUILDS,
    CUMULATIVE_RESULTS,
    DO_LINES,
    EMERGENCY,
    NORMAL_LINES,
    OPENS_AGAIN,
    OUT_OF_HOURS,
    PREPARE,
    PREPARE_LINES,
    RED_FLAGS,
    SECOND_WEEK_NORMAL,
    SUNSCREEN_TODAY,
    Line,
)
from meso.protocol_base import (  # noqa: F401 - re-exported
    AREAS,
    BASES,
    CLINIC_PRACTICE,
    CLINICAL_CAUTION,
    GUIDE,
    N_,
    PHASES,
    duration_words,
)
from meso.reminder_rules import (  # noqa: F401 - re-exported
    MAINTENANCE_AFTER,
    REMINDER_CHECKIN,
    REMINDER_EVENING,
    REMINDER_RULES,
    SESSION_DAY_EARLIEST,
    ReminderRule,
    ReminderText,
)

# Bounds a clinic or practitioner may set a window to (issue: never negative, at most 90 days).
MAX_WINDOW = timedelta(days=90)
MAX_WINDOW_HOURS = MAX_WINDOW // timedelta(hours=1)

# A course: N sessions every W weeks, then maintenance (3-6 sessions 2-4 weeks apart are typical).
DEFAULT_SESSIONS = 4
DEFAULT_INTERVAL_WEEKS = 3
SESSIONS_RANGE = (1, 12)
INTERVAL_RANGE = (1, 12)  # weeks
DEFAULT_FIRST_WEEKS = timedelta(days=28)
FIRST_WEEKS_RANGE = (7, 90)  # days a clinic may set the first-weeks phase to

AREA_NAMES = MappingProxyType(
    {"face": N_("Face"), "scalp": N_("Scalp"), "body": N_("Body")}
)

PHASE_NAMES = MappingProxyType(
    {
        "preparation": N_("Preparation"),
        "immediate": N_("Immediate"),
        "first_weeks": N_("First weeks"),
        # The guide's "cumulative results"; patients read it as what it means to them.
        "cumulative": N_("Over your course"),
    }
)

PHASE_SUMMARIES = MappingProxyType(
    {
        "preparation": N_("Getting ready for your first session."),
        "immediate": N_("Right after a session: your skin is settling after the injections."),
        "first_weeks": N_("Hydration and circulation improve a little more each day."),
        "cumulative": N_("Results build with each session."),
    }
)

# The phases as the patient's pages name them (the phase strip on Today, the Timeline's days):
# what one session's aftercare feels like, in a word. Staff pages keep PHASE_NAMES.
PHASE_STEP_NAMES = MappingProxyType(
    {
        "preparation": N_("Getting ready"),
        "immediate": N_("Settling"),
        "first_weeks": N_("Recovering"),
        "cumulative": N_("Over your course"),
    }
)


@dataclass(frozen=True)
class Restriction:
    """Something to avoid for a window of time, counted from a session's start instant."""

    key: str
    name: str  # what to avoid, as a patient would say it
    ok_name: str  # how the "OK again" line names it ("Sauna OK from Thu 14:00")
    why: str
    # "after" windows run from the session's start; "before" windows end at the next session.
    anchor: str
    default: timedelta
    source: str = ""  # the guide's words, for guide rules
    basis: str = GUIDE
    areas: tuple[str, ...] = AREAS  # the treatment areas it applies to

    def applies_to(self, area: str) -> bool:
        return area in self.areas


RESTRICTIONS: Mapping[str, Restriction] = MappingProxyType(
    {
        r.key: r
        for r in (
            Restriction(
                key="heat",
                name=N_("Hot baths, sauna, steam room and heavy workouts"),
                ok_name=N_("Sauna, hot baths and workouts"),
                why=N_("Heat can irritate the treated skin and make swelling worse."),
                anchor="after",
                default=timedelta(hours=48),
                source="avoid hot baths for at least 48 hours ... saunas, steam rooms, "
                "heavy workouts",
            ),
            Restriction(
                key="sun",
                # Sunbathing stays off; tanning beds are their own rule and are never "OK".
                name=N_("Direct sun and sunbathing"),
                ok_name=N_("Time outdoors with sunscreen (still no sunbathing)"),
                why=N_("Freshly treated skin burns and marks more easily."),
                anchor="after",
                default=timedelta(hours=48),
                source="direct sun exposure during the early recovery period",
            ),
            Restriction(
                key="makeup",
                name=N_("Regular makeup: use mineral makeup only"),
                ok_name=N_("Your usual makeup"),
                why=N_("Mineral makeup is gentler while the skin settles."),
                anchor="after",
                default=timedelta(hours=48),
                source="choose mineral makeup until the skin settles",
                areas=("face",),
            ),
            Restriction(
                key="hair_wash",
                name=N_("Washing your hair"),
                ok_name=N_("Washing your hair, gently, with a mild shampoo"),
                why=N_("Your clinic asks you to wait so that the tiny injection points can "
                       "close first."),
                anchor="after",
                default=timedelta(hours=24),
                basis=CLINIC_PRACTICE,
                areas=("scalp",),
            ),
            Restriction(
                key="exfoliants",
                name=N_("Exfoliants: salicylic acid (BHA) and scrubs"),
                ok_name=N_("Exfoliants (BHA, scrubs)"),
                why=N_("Your skin barrier needs a few days to recover fully."),
                anchor="after",
                default=timedelta(days=7),
                source="avoid exfoliating agents such as beta hydroxyl acids until the "
                "barrier fully recovers",
            ),
            Restriction(
                key="vitamin_a",
                name=N_("Vitamin A creams: retinol and retinoids"),
                ok_name=N_("Retinol and vitamin A creams"),
                why=N_("They are too strong for skin that is still recovering."),
                anchor="after",
                default=timedelta(days=14),
                source="second week ... avoid overly aggressive products, especially creams "
                "containing vitamin a",
            ),
            Restriction(
                key="acids_peels",
                # Read as "<name> OK from ...", "<ok_name> since ...", "<ok_name> OK again from".
                name=N_("Acid creams: glycolic or lactic acid (AHA); for peels and lasers, ask "
                        "your practitioner first"),
                ok_name=N_("Acid creams (AHA; for peels and lasers, ask your practitioner "
                           "first)"),
                why=N_("Acids used too soon can irritate the skin; a peel or laser needs "
                       "your practitioner's go-ahead."),
                anchor="after",
                default=timedelta(days=14),
                source="never be used too soon after; waiting before reintroducing alpha "
                "hydroxy acids; gentle chemical peels ... provided enough time passes",
            ),
            Restriction(
                key="tanning_beds",
                name=N_("Tanning beds"),
                ok_name=N_("Tanning beds (before a session)"),
                why=N_("Tanning beds make the skin more sensitive before a session."),
                anchor="before",
                default=timedelta(days=7),
                source="in the days leading up ... avoid tanning beds",
            ),
        )
    }
)


@dataclass(frozen=True)
class Protocol:
    """A clinic's effective protocol: the default windows merged with its overrides."""

    windows: Mapping[str, timedelta] = field(
        default_factory=lambda: MappingProxyType(
            {key: r.default for key, r in RESTRICTIONS.items()}
        )
    )
    immediate: timedelta = timedelta(hours=48)  # "fades within 24-48 hours"
    first_weeks: timedelta = DEFAULT_FIRST_WEEKS
    prepare_notice: timedelta = timedelta(days=7)  # show pre-session items this early

    def with_overrides(self, hours: Mapping[str, int]) -> Protocol:
        """Return a copy whose windows are replaced by ``{key: hours}`` (validated)."""
        windows = dict(self.windows)
        for key, value in validate_overrides(hours).items():
            windows[key] = value
        return replace(self, windows=MappingProxyType(windows))

    def window_ends(self, start: datetime) -> dict[str, datetime]:
        """Return when each after-session window of a session starting at ``start`` ends."""
        return {
            key: start + self.windows[key]
            for key, rule in RESTRICTIONS.items()
            if rule.anchor == "after"
        }


DEFAULT_PROTOCOL = Protocol()


def validate_overrides(hours: Mapping[str, int]) -> dict[str, timedelta]:
    """Check window overrides given in hours; raise ValueError naming the bad one."""
    windows = {}
    for key, value in hours.items():
        if key not in RESTRICTIONS:
            raise ValueError(f"unknown restriction {key!r}")
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{key}: hours must be a whole number")
        window = timedelta(hours=value)
        if not timedelta(0) <= window <= MAX_WINDOW:
            raise ValueError(f"{key}: must be between 0 and {MAX_WINDOW_HOURS} hours")
        windows[key] = window
    return windows


# -- Reminders: the patient's choices ----------------------------------------------------------
# The rules themselves are in reminder_rules.py; reminders.py turns them into fire times.

REMINDER_CATEGORIES = ("sun", "heat", "exfoliants", "sessions", "checkins")

REMINDER_CATEGORY_NAMES = MappingProxyType(
    {
        "sun": N_("Sun"),
        "heat": N_("Heat: sauna, hot baths, workouts"),
        "exfoliants": N_("Exfoliants, retinol and acids"),
        "sessions": N_("Your next session"),
        "checkins": N_("Daily check-in"),
    }
)

# The patient chooses the morning time and their quiet hours. The defaults are the clinic's
# until it changes them, and the patient's until they do.
DEFAULT_MORNING = time(9, 0)
DEFAULT_QUIET_HOURS = (time(21, 0), time(8, 0))
DISCREET_TITLE = N_("Reminder")
