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
from datetime import timedelta
from types import MappingProxyType


def N_(text: str) -> str:
    """Mark a text for translation; it is translated where it is shown (gettext_noop)."""
    return text


AREAS = ("face", "scalp", "body")
PHASES = ("preparation", "immediate", "first_weeks", "cumulative")
# Bounds a clinic or practitioner may set a window to (issue: never negative, at most 90 days).
MAX_WINDOW = timedelta(days=90)

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
    first_weeks: timedelta = timedelta(days=28)
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
            raise ValueError(f"{key}: must be between 0 and {MAX_WINDOW.days * 24} hours")
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
