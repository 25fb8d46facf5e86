"""The aftercare protocol as data: areas, phases, restrictions, expectations, red flags.

Everything a patient reads about their recovery comes from this module, so that the web
pages, the JSON API, the CLI and (later) the reminder scheduler tell one truth, and so that
translators find every text in one place. No Flask and no database here: the planner and its
tests import this module as plain Python.

Facts come from the shared patient guide (`reference/mesotherapy-patient-guide.txt`); each
rule's ``source`` quotes the words it rests on. Patient texts are our own wording.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import time, timedelta
from types import MappingProxyType


def N_(text: str) -> str:  # noqa: N802 - gettext's own name for the marker, which Babel finds
    """Mark a text for translation; it is translated where it is shown (gettext_noop)."""
    return text


AREAS = ("face", "scalp", "body")
PHASES = ("preparation", "immediate", "first_weeks", "cumulative")
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
        "cumulative": N_("Cumulative"),
    }
)

PHASE_SUMMARIES = MappingProxyType(
    {
        "preparation": N_("Getting ready for your first session."),
        "immediate": N_("The first two days: your skin is settling after the injections."),
        "first_weeks": N_("Hydration and circulation improve a little more each day."),
        "cumulative": N_("Each session builds on the one before."),
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
    source: str


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
                name=N_("Direct sun (and tanning beds)"),
                ok_name=N_("Time in the sun"),
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
                name=N_("Acids and peels: glycolic or lactic acid (AHA), chemical peels"),
                ok_name=N_("Acids (AHA) and peels"),
                why=N_("Acids and peels used too soon can irritate the skin."),
                anchor="after",
                default=timedelta(days=14),
                source="never be used too soon after; waiting before reintroducing alpha "
                "hydroxy acids",
            ),
            Restriction(
                key="tanning_beds",
                name=N_("Tanning beds"),
                ok_name=N_("Tanning beds"),
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
    sunscreen: timedelta = timedelta(days=28)  # "zinc oxide based sunscreen daily"
    prepare_notice: timedelta = timedelta(days=7)  # show pre-session items this early

    def with_overrides(self, hours: Mapping[str, int]) -> Protocol:
        """Return a copy whose windows are replaced by ``{key: hours}`` (validated)."""
        windows = dict(self.windows)
        for key, value in validate_overrides(hours).items():
            windows[key] = value
        return replace(self, windows=MappingProxyType(windows))


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


# What is normal, by phase. Area-specific lines are added after the shared ones.
NORMAL: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "preparation": (
            N_("The session itself is short: the area is cleaned, a numbing cream is applied, "
               "then very fine needles place tiny drops of the treatment into the skin."),
            N_("Right after, you may see small bumps and a little redness. Both are expected."),
        ),
        "immediate": (
            N_("Your skin may look fresher, slightly plumper and well hydrated."),
            N_("Mild redness, warmth, tenderness or swelling are normal and usually fade "
               "within one to two days."),
            N_("Tiny pinpoint spots of blood can appear and clear up quickly."),
        ),
        "first_weeks": (
            N_("Hydration and circulation keep improving step by step."),
            N_("Changes are gradual: compare with how you looked before the session, "
               "not with yesterday."),
        ),
        "cumulative": (
            N_("Results build with every session and are clearest after the full course."),
            N_("Maintenance sessions help keep what you have gained."),
        ),
    }
)

SESSION_DAY_NORMAL = (
    N_("The small bumps from the injections usually flatten within a few hours."),
)

SECOND_WEEK_NORMAL = (
    N_("Second week: keep your routine simple and gentle while the skin finishes "
       "recovering."),
)

AREA_NORMAL: Mapping[tuple[str, str], tuple[str, ...]] = MappingProxyType(
    {
        ("immediate", "body"): (
            N_("Small bruises are more common on the body; they fade over the following days."),
        ),
        ("immediate", "scalp"): (
            N_("The scalp may feel tender; wash your hair gently with a mild shampoo."),
        ),
        ("first_weeks", "scalp"): (
            N_("Hair changes take months, not weeks: it is normal to see no difference yet."),
        ),
        ("first_weeks", "body"): (
            N_("Contour changes usually show only after several sessions."),
        ),
    }
)

# What the cumulative phase means for each area (shown on Today and the Timeline).
CUMULATIVE_RESULTS: Mapping[str, str] = MappingProxyType(
    {
        "face": N_("Over the course, skin tends to become firmer, smoother and more even in "
                   "tone, with fine lines softened and a healthy glow. Maintenance sessions "
                   "help it last."),
        "scalp": N_("On the scalp, results come over months: better density and stronger "
                    "follicles, especially with hereditary (androgenetic) hair loss. "
                    "Maintenance sessions help keep them."),
        "body": N_("On the body, contours and firmness improve gradually over several "
                   "sessions, best alongside regular exercise. Maintenance sessions help "
                   "keep the result."),
    }
)

DO_TODAY: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "preparation": (
            N_("Keep your usual gentle skincare routine."),
        ),
        "immediate": (
            N_("Wash the area only with a mild cleanser and lukewarm water."),
            N_("Apply a gentle, fragrance-free moisturiser."),
            N_("Stay cool and drink plenty of water."),
        ),
        "first_weeks": (
            N_("Mild cleanser, gentle moisturiser: keep the routine simple and hydrating."),
            N_("Sleep well, drink water and eat well: it helps the skin repair."),
        ),
        "cumulative": (
            N_("Keep up a gentle, hydrating routine and a healthy lifestyle."),
        ),
    }
)

SUNSCREEN_TODAY = N_("Put on a zinc-oxide sunscreen every morning, even when it is cloudy.")

# Before a session: shown in the days before the next one, and from enrolment before the first.
PREPARE: tuple[str, ...] = (
    N_("Tell your practitioner if you take blood thinners, have a medical condition or have "
       "taken isotretinoin tablets (for acne) recently."),
    N_("If you get cold sores, ask in advance whether you should take an antiviral medicine."),
    N_("Mention any allergies, sensitive skin and treatments you have had before."),
    N_("Avoid tanning beds in the week before your session."),
)

# Not from the guide: ordinary clinical caution, worded as "contact your clinic".
RED_FLAGS: tuple[str, ...] = (
    N_("redness or swelling that gets worse after two days instead of better"),
    N_("pus or any discharge from the treated area"),
    N_("a fever"),
    N_("severe pain, or pain that keeps increasing"),
    N_("hard lumps that do not go away"),
    N_("a rash or hives"),
)
EMERGENCY = N_("Trouble breathing, or swelling of the lips or tongue: call emergency "
               "services now.")


# -- Reminders (push) ----------------------------------------------------------------------
# The reminder plan of DESIGN.md §3 as data; meso/reminders.py turns it into fire times.
# Texts may name instants as %(heat_until)s, %(sun_until)s, %(sunscreen_until)s,
# %(exfoliants_until)s, %(vitamin_a_until)s, %(session_day)s and %(session_time)s. "Discreet"
# texts are what a lock screen shows when the patient asks for it: no treatment words.

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

# Fixed local clock times; the patient chooses the morning one (and their quiet hours). The
# defaults are the clinic's until it changes them, and the patient's until they do.
REMINDER_EVENING = "18:00"  # before the evening bath, sauna or gym
REMINDER_CHECKIN = "20:00"
DEFAULT_MORNING = time(9, 0)
DEFAULT_QUIET_HOURS = (time(21, 0), time(8, 0))
MAINTENANCE_AFTER = timedelta(days=91)  # "a maintenance reminder ... (default 3 months)"
DISCREET_TITLE = N_("Reminder")


@dataclass(frozen=True)
class ReminderText:
    title: str
    body: str
    discreet_body: str  # shown under DISCREET_TITLE; no treatment words
    still: str = ""  # added to both bodies while the rule's ``still_open`` windows run


@dataclass(frozen=True)
class ReminderRule:
    """One reminder of the plan, repeated for each session (or once, for course rules).

    When it fires: ``anchor`` "start" is the session's start (+ ``offset``, or local ``day``
    at ``clock``); "end" is when the windows in ``windows`` have all ended; "before" counts
    ``day`` back from the session's local date; "last" counts from the last planned session.
    ``clock`` is "morning" (the patient's setting) or a fixed "HH:MM".
    It is pointless ``useful_for`` after its nominal fire time, at the end of that local day
    when ``same_day``, once the ``while_open`` windows it talks about have ended, and once the
    next session starts. ``texts`` are keyed by the categories the patient has on.
    """

    key: str  # part of the outbox key (patient, session, rule) and the push Topic
    categories: tuple[str, ...]
    anchor: str
    texts: Mapping[tuple[str, ...], ReminderText]
    useful_for: timedelta
    day: int | None = None
    clock: str = ""
    offset: timedelta = timedelta(0)
    windows: tuple[str, ...] = ()
    while_open: tuple[str, ...] = ()
    still_open: tuple[str, ...] = ()
    same_day: bool = False
    urgency: str = "normal"
    link: str = "/today"


def _text(title: str, body: str, discreet_body: str, still: str = "") -> ReminderText:
    return ReminderText(title, body, discreet_body, still)


REMINDER_RULES: Mapping[str, ReminderRule] = MappingProxyType(
    {
        r.key: r
        for r in (
            ReminderRule(
                key="session_day",
                categories=("heat", "sun"),
                anchor="start",
                offset=timedelta(hours=2),
                while_open=("heat", "sun"),
                same_day=True,
                useful_for=timedelta(hours=12),
                texts={
                    ("heat", "sun"): _text(
                        N_("Tonight: no heat, no direct sun"),
                        N_("Your skin is settling after the session. No hot bath, sauna or "
                           "hard workout until %(heat_until)s; stay out of direct sun until "
                           "%(sun_until)s."),
                        N_("No hot bath, sauna or hard workout until %(heat_until)s; stay out "
                           "of direct sun until %(sun_until)s."),
                    ),
                    ("heat",): _text(
                        N_("Tonight: no sauna or hot bath"),
                        N_("Your skin is settling after the session. No hot bath, sauna or "
                           "hard workout until %(heat_until)s."),
                        N_("No hot bath, sauna or hard workout until %(heat_until)s."),
                    ),
                    ("sun",): _text(
                        N_("Stay out of direct sun"),
                        N_("Your skin is settling after the session. Stay out of direct sun "
                           "until %(sun_until)s."),
                        N_("Stay out of direct sun until %(sun_until)s."),
                    ),
                },
            ),
            ReminderRule(
                key="sun_day1",
                categories=("sun",),
                anchor="start",
                day=1,
                clock="morning",
                while_open=("sun",),
                useful_for=timedelta(hours=6),
                texts={
                    ("sun",): _text(
                        N_("Sun: stay in the shade today"),
                        N_("Treated skin burns easily. Stay out of direct sun until "
                           "%(sun_until)s and put on a zinc-oxide sunscreen before you go "
                           "out."),
                        N_("Stay in the shade until %(sun_until)s and put on a zinc-oxide "
                           "sunscreen before you go out."),
                    ),
                },
            ),
            ReminderRule(
                key="heat_day1",
                categories=("heat",),
                anchor="start",
                day=1,
                clock=REMINDER_EVENING,
                while_open=("heat",),
                same_day=True,
                useful_for=timedelta(hours=3),
                texts={
                    ("heat",): _text(
                        N_("No sauna or hot bath tonight"),
                        N_("Heat can still irritate your treated skin. Skip hot baths, the "
                           "sauna, the steam room and hard workouts: they are OK again from "
                           "%(heat_until)s."),
                        N_("Skip hot baths, the sauna, the steam room and hard workouts "
                           "tonight: they are OK again from %(heat_until)s."),
                    ),
                },
            ),
            ReminderRule(
                key="heat_sun_ok",
                categories=("heat", "sun"),
                anchor="end",
                windows=("heat", "sun"),
                useful_for=timedelta(hours=24),
                texts={
                    ("heat", "sun"): _text(
                        N_("Sauna, hot baths and sun: OK again"),
                        N_("The first two days are over: heat and sun are fine again. Keep "
                           "putting on a zinc-oxide sunscreen every morning until "
                           "%(sunscreen_until)s."),
                        N_("Sauna, hot baths, workouts and sun are fine again. Keep up the "
                           "zinc-oxide sunscreen every morning until %(sunscreen_until)s."),
                    ),
                    ("heat",): _text(
                        N_("Sauna and hot baths: OK again"),
                        N_("Hot baths, the sauna, the steam room and workouts are fine again."),
                        N_("Hot baths, the sauna, the steam room and workouts are fine again."),
                    ),
                    ("sun",): _text(
                        N_("Sun: OK again"),
                        N_("Time in the sun is fine again. Keep putting on a zinc-oxide "
                           "sunscreen every morning until %(sunscreen_until)s."),
                        N_("Time in the sun is fine again. Keep up the zinc-oxide sunscreen "
                           "every morning until %(sunscreen_until)s."),
                    ),
                },
            ),
            ReminderRule(
                key="exfoliants_day3",
                categories=("exfoliants",),
                anchor="start",
                day=3,
                clock="morning",
                while_open=("exfoliants",),
                useful_for=timedelta(hours=8),
                texts={
                    ("exfoliants",): _text(
                        N_("Still no exfoliants"),
                        N_("Your skin barrier is still recovering: no salicylic acid (BHA) "
                           "and no scrubs until %(exfoliants_until)s."),
                        N_("No salicylic acid (BHA) and no scrubs until %(exfoliants_until)s."),
                    ),
                },
            ),
            ReminderRule(
                key="exfoliants_ok",
                categories=("exfoliants",),
                anchor="end",
                windows=("exfoliants",),
                still_open=("vitamin_a", "acids_peels"),
                useful_for=timedelta(hours=24),
                texts={
                    ("exfoliants",): _text(
                        N_("Exfoliants: OK again"),
                        N_("Salicylic acid (BHA) and scrubs are fine again."),
                        N_("Salicylic acid (BHA) and scrubs are fine again."),
                        N_("Retinol, acids and peels still wait until %(vitamin_a_until)s."),
                    ),
                },
            ),
            ReminderRule(
                key="vitamin_a_week2",
                categories=("exfoliants",),
                anchor="start",
                day=8,
                clock="morning",
                while_open=("vitamin_a",),
                useful_for=timedelta(hours=8),
                texts={
                    ("exfoliants",): _text(
                        N_("Second week: keep it simple"),
                        N_("Keep your routine gentle this week: no retinol or vitamin A "
                           "creams, acids or peels until %(vitamin_a_until)s."),
                        N_("Keep your routine gentle: no retinol or vitamin A creams, acids "
                           "or peels until %(vitamin_a_until)s."),
                    ),
                },
            ),
            ReminderRule(
                key="vitamin_a_ok",
                categories=("exfoliants",),
                anchor="end",
                windows=("vitamin_a", "acids_peels"),
                useful_for=timedelta(hours=24),
                texts={
                    ("exfoliants",): _text(
                        N_("Retinol, acids and peels: OK again"),
                        N_("Two weeks are over: retinol and vitamin A creams, glycolic or "
                           "lactic acid and peels are fine again."),
                        N_("Retinol and vitamin A creams, glycolic or lactic acid and peels "
                           "are fine again."),
                    ),
                },
            ),
            ReminderRule(
                key="tanning_beds",
                categories=("sessions",),
                anchor="before",
                day=-7,
                clock="morning",
                useful_for=timedelta(hours=12),
                texts={
                    ("sessions",): _text(
                        N_("No tanning beds this week"),
                        N_("Your next session is on %(session_day)s: skip tanning beds until "
                           "then."),
                        N_("Skip tanning beds until %(session_day)s."),
                    ),
                },
            ),
            ReminderRule(
                key="session_tomorrow",
                categories=("sessions",),
                anchor="before",
                day=-1,
                clock="morning",
                useful_for=timedelta(hours=12),
                texts={
                    ("sessions",): _text(
                        N_("Your session is tomorrow at %(session_time)s"),
                        N_("Tell your practitioner about blood thinners, medical conditions, "
                           "recent isotretinoin tablets, cold sores and allergies."),
                        N_("Your appointment is tomorrow at %(session_time)s."),
                    ),
                },
            ),
            *(
                ReminderRule(
                    key=f"checkin_day{day}",
                    categories=("checkins",),
                    anchor="start",
                    day=day,
                    clock=REMINDER_CHECKIN,
                    same_day=True,
                    useful_for=timedelta(hours=2),
                    urgency="low",
                    link="/checkins/new",
                    texts={
                        ("checkins",): _text(
                            N_("How is your skin today?"),
                            N_("Take 20 seconds to check in, so your clinic knows how your "
                               "recovery is going."),
                            N_("Take 20 seconds to check in today."),
                        ),
                    },
                )
                for day in (1, 2, 3)
            ),
            ReminderRule(
                key="maintenance",
                categories=("sessions",),
                anchor="last",
                day=MAINTENANCE_AFTER.days,
                clock="morning",
                useful_for=timedelta(days=3),
                urgency="low",
                texts={
                    ("sessions",): _text(
                        N_("Time for a maintenance session?"),
                        N_("It has been three months since your last session. A maintenance "
                           "session helps keep your results: ask your clinic."),
                        N_("It has been three months: time to book your next appointment?"),
                    ),
                },
            ),
        )
    }
)


# -- Daily check-in -------------------------------------------------------------------------
# Twenty seconds: how the treated area feels, and whether any red flag (above) is there. Only
# the answers below are stored (meso/models/checkins.py), never free text.

CHECKIN_QUESTION = N_("How does the treated area feel today?")
CHECKIN_FEELINGS = MappingProxyType(  # stored as the number; 5 is the best
    {5: N_("Very good"), 4: N_("Good"), 3: N_("OK"), 2: N_("Not good"), 1: N_("Bad")}
)
CHECKIN_FLAGS_QUESTION = N_("Do you notice any of these?")
# The red flags, as short ticks. Keys are stored; never rename one.
CHECKIN_FLAGS = MappingProxyType(
    {
        "worse": N_("Redness or swelling getting worse, not better"),
        "discharge": N_("Pus or discharge"),
        "fever": N_("Fever"),
        "pain": N_("Severe or increasing pain"),
        "lumps": N_("Hard lumps that do not go away"),
        "rash": N_("A rash or hives"),
        "breathing": N_("Trouble breathing, or swollen lips or tongue"),
    }
)
CHECKIN_EMERGENCY_FLAGS = frozenset({"breathing"})
# What the patient reads after sending: "emergency" > "contact" > "low" > "ok".
CHECKIN_GUIDANCE = MappingProxyType(
    {
        "ok": N_("Thank you. Keep following today's advice."),
        "low": N_("Sorry it is not a good day. Some discomfort is normal in the first days; "
                  "if you are worried, call your clinic."),
        "contact": N_("Please contact your clinic today and tell them what you noticed. "
                      "This is not something to wait out."),
        "emergency": EMERGENCY,
    }
)


def checkin_guidance(feeling: int, symptoms: frozenset[str] | set[str]) -> str:
    """Return which answer a check-in gets: a red flag always means "contact your clinic"."""
    if symptoms & CHECKIN_EMERGENCY_FLAGS:
        return "emergency"
    if symptoms:
        return "contact"
    return "low" if feeling <= 2 else "ok"
