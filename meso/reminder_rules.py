"""The reminder plan of DESIGN.md §3 as data; reminders.py turns it into fire times.

Texts may name instants (%(heat_until)s, %(sun_until)s, %(exfoliants_until)s,
%(retinol_until)s, %(acids_until)s, %(vitamin_a_until)s: the later of those two,
%(session_day)s, %(session_time)s) and any window's length in words (%(heat_window)s, ...,
%(tanning_beds_window)s), all taken from the windows in force: no text names a fixed
duration. "Discreet" texts are what a lock screen shows when the patient asks for it: no
treatment words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from types import MappingProxyType

from meso.protocol_base import N_

REMINDER_EVENING = "18:00"  # before the evening bath, sauna or gym
REMINDER_CHECKIN = "20:00"
MAINTENANCE_AFTER = timedelta(days=91)  # "a maintenance reminder ... (default 3 months)"
# The session-day reminder speaks at the earlier of 2 h after the session and this long
# before the patient's quiet hours start, and never sooner than this after the start.
SESSION_DAY_EARLIEST = timedelta(minutes=30)


@dataclass(frozen=True)
class ReminderText:
    title: str
    body: str
    discreet_body: str  # shown under DISCREET_TITLE; no treatment words
    still: str = ""  # added to both bodies while the rule's ``still_open`` windows run


@dataclass(frozen=True)
class ReminderRule:
    """One reminder of the plan, repeated for each session (or once, for course rules).

    When it fires: ``anchor`` "start" is the session's start (+ ``offset``, but no later than
    ``before_quiet`` before the quiet hours start; or local ``day`` at ``clock``); "end" is
    when the windows in ``windows`` have all ended; "before" is when the window in
    ``windows`` starts before the session, or ``day`` back from its local date at ``clock``;
    "last" counts from the last planned session. ``clock`` is "morning" (the patient's
    setting) or a fixed "HH:MM". An "end" rule with ``together`` True speaks only when all
    its windows end at one instant, False only when they do not (then each has its own).
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
    before_quiet: timedelta | None = None
    windows: tuple[str, ...] = ()
    group: tuple[str, ...] = ()
    together: bool | None = None
    while_open: tuple[str, ...] = ()
    still_open: tuple[str, ...] = ()
    same_day: bool = False
    urgency: str = "normal"
    link: str = "/today"


def _text(title: str, body: str, discreet_body: str, still: str = "") -> ReminderText:
    return ReminderText(title, body, discreet_body, still)


HEAT_OK = _text(
    N_("Sauna and hot baths: OK again"),
    N_("Hot baths, the sauna, the steam room and workouts are fine again."),
    N_("Hot baths, the sauna, the steam room and workouts are fine again."),
)
# "Sun OK" means outdoors with sunscreen; sunbathing stays off (and tanning beds have their
# own rule: no text ever says they are fine).
SUN_OK = _text(
    N_("Outdoors again, with sunscreen"),
    N_("Time outdoors is fine again with a zinc-oxide sunscreen. Keep putting it on every "
       "day, and still no sunbathing."),
    N_("Time outdoors is fine again with sunscreen. Keep putting it on every day, and still "
       "no sunbathing."),
)

_AFTER_SESSION = (
    ReminderRule(
        key="session_day",
        categories=("heat", "sun"),
        anchor="start",
        offset=timedelta(hours=2),
        before_quiet=timedelta(minutes=30),
        while_open=("heat", "sun"),
        same_day=True,
        useful_for=timedelta(hours=12),
        texts={
            ("heat", "sun"): _text(
                N_("Tonight: no heat, no direct sun"),
                N_("Your skin is settling after the session. No hot bath, sauna or hard "
                   "workout until %(heat_until)s; stay out of direct sun until %(sun_until)s."),
                N_("No hot bath, sauna or hard workout until %(heat_until)s; stay out of "
                   "direct sun until %(sun_until)s."),
            ),
            ("heat",): _text(
                N_("Tonight: no sauna or hot bath"),
                N_("Your skin is settling after the session. No hot bath, sauna or hard "
                   "workout until %(heat_until)s."),
                N_("No hot bath, sauna or hard workout until %(heat_until)s."),
            ),
            ("sun",): _text(
                N_("Stay out of direct sun"),
                N_("Your skin is settling after the session. Stay out of direct sun until "
                   "%(sun_until)s."),
                N_("Stay out of direct sun until %(sun_until)s."),
            ),
        },
    ),
    ReminderRule(
        key="sun_day1", categories=("sun",), anchor="start", day=1, clock="morning",
        while_open=("sun",), useful_for=timedelta(hours=6),
        texts={("sun",): _text(
            N_("Sun: stay in the shade today"),
            N_("Treated skin burns easily. Stay out of direct sun until %(sun_until)s and put "
               "on a zinc-oxide sunscreen before you go out."),
            N_("Stay in the shade until %(sun_until)s and put on a zinc-oxide sunscreen "
               "before you go out."),
        )},
    ),
    ReminderRule(
        key="heat_day1", categories=("heat",), anchor="start", day=1, clock=REMINDER_EVENING,
        while_open=("heat",), same_day=True, useful_for=timedelta(hours=3),
        texts={("heat",): _text(
            N_("No sauna or hot bath tonight"),
            N_("Heat can still irritate your treated skin. Skip hot baths, the sauna, the "
               "steam room and hard workouts: they are OK again from %(heat_until)s."),
            N_("Skip hot baths, the sauna, the steam room and hard workouts tonight: they "
               "are OK again from %(heat_until)s."),
        )},
    ),
    ReminderRule(
        key="heat_sun_ok", categories=("heat", "sun"), anchor="end", windows=("heat", "sun"),
        group=("heat", "sun"), together=True, useful_for=timedelta(hours=24),
        texts={
            ("heat", "sun"): _text(
                N_("Heat and the outdoors: OK again"),
                N_("Sauna, hot baths and workouts are fine again, and so is time outdoors "
                   "with a zinc-oxide sunscreen. Keep putting it on every day, and still no "
                   "sunbathing."),
                N_("Sauna, hot baths and workouts are fine again, and so is time outdoors "
                   "with sunscreen. Keep putting it on every day, and still no sunbathing."),
            ),
            ("heat",): HEAT_OK,
            ("sun",): SUN_OK,
        },
    ),
    ReminderRule(
        key="heat_ok", categories=("heat",), anchor="end", windows=("heat",),
        group=("heat", "sun"), together=False, useful_for=timedelta(hours=24),
        texts={("heat",): HEAT_OK},
    ),
    ReminderRule(
        key="sun_ok", categories=("sun",), anchor="end", windows=("sun",),
        group=("heat", "sun"), together=False, useful_for=timedelta(hours=24),
        texts={("sun",): SUN_OK},
    ),
    ReminderRule(
        key="exfoliants_day3", categories=("exfoliants",), anchor="start", day=3,
        clock="morning", while_open=("exfoliants",), useful_for=timedelta(hours=8),
        texts={("exfoliants",): _text(
            N_("Still no exfoliants"),
            N_("Your skin barrier is still recovering: no salicylic acid (BHA) and no scrubs "
               "until %(exfoliants_until)s."),
            N_("No salicylic acid (BHA) and no scrubs until %(exfoliants_until)s."),
        )},
    ),
    ReminderRule(
        key="exfoliants_ok", categories=("exfoliants",), anchor="end", windows=("exfoliants",),
        still_open=("vitamin_a", "acids_peels"), useful_for=timedelta(hours=24),
        texts={("exfoliants",): _text(
            N_("Exfoliants: OK again"),
            N_("Salicylic acid (BHA) and scrubs are fine again."),
            N_("Salicylic acid (BHA) and scrubs are fine again."),
            N_("Retinol and acid creams still wait until %(vitamin_a_until)s."),
        )},
    ),
    ReminderRule(
        key="vitamin_a_week2", categories=("exfoliants",), anchor="start", day=8,
        clock="morning", while_open=("vitamin_a",), useful_for=timedelta(hours=8),
        texts={("exfoliants",): _text(
            N_("Second week: keep it simple"),
            N_("Keep your routine gentle: no retinol or vitamin A creams and no acid creams "
               "until %(vitamin_a_until)s."),
            N_("Keep your routine gentle: no retinol, vitamin A or acid creams until "
               "%(vitamin_a_until)s."),
        )},
    ),
    ReminderRule(
        key="vitamin_a_ok", categories=("exfoliants",), anchor="end",
        windows=("vitamin_a", "acids_peels"), group=("vitamin_a", "acids_peels"),
        together=True, useful_for=timedelta(hours=24),
        texts={("exfoliants",): _text(
            N_("Retinol and acid creams: OK again"),
            N_("Retinol and vitamin A creams, and glycolic or lactic acid creams, are fine "
               "again. Before a peel or a laser treatment, ask your practitioner first."),
            N_("Retinol, vitamin A and acid creams are fine again."),
        )},
    ),
    ReminderRule(
        key="retinol_ok", categories=("exfoliants",), anchor="end", windows=("vitamin_a",),
        group=("vitamin_a", "acids_peels"), together=False, still_open=("acids_peels",),
        useful_for=timedelta(hours=24),
        texts={("exfoliants",): _text(
            N_("Retinol: OK again"),
            N_("Retinol and vitamin A creams are fine again."),
            N_("Retinol and vitamin A creams are fine again."),
            N_("Acid creams still wait until %(acids_until)s."),
        )},
    ),
    ReminderRule(
        key="acids_ok", categories=("exfoliants",), anchor="end", windows=("acids_peels",),
        group=("vitamin_a", "acids_peels"), together=False, still_open=("vitamin_a",),
        useful_for=timedelta(hours=24),
        texts={("exfoliants",): _text(
            N_("Acid creams: OK again"),
            N_("Glycolic and lactic acid creams are fine again. Before a peel or a laser "
               "treatment, ask your practitioner first."),
            N_("Glycolic and lactic acid creams are fine again."),
            N_("Retinol and vitamin A creams still wait until %(retinol_until)s."),
        )},
    ),
)

_BEFORE_SESSION = (
    ReminderRule(
        key="tanning_beds", categories=("sessions",), anchor="before",
        windows=("tanning_beds",), useful_for=timedelta(hours=12),
        texts={("sessions",): _text(
            N_("No tanning beds before your session"),
            # The window in brackets, not "for the 7 days before": an article before a length
            # cannot agree in every language (translators' note).
            N_("Your next session is on %(session_day)s. From now until then "
               "(%(tanning_beds_window)s), skip tanning beds: they make the skin more "
               "sensitive."),
            N_("Skip tanning beds until %(session_day)s."),
        )},
    ),
    ReminderRule(
        key="session_tomorrow", categories=("sessions",), anchor="before", day=-1,
        clock="morning", useful_for=timedelta(hours=12),
        texts={("sessions",): _text(
            N_("Your session is tomorrow at %(session_time)s"),
            N_("Tell your practitioner about blood thinners, medical conditions, recent "
               "isotretinoin by mouth, cold sores, allergies, earlier treatments, scarring "
               "easily, and any inflamed skin in the area."),
            N_("Your appointment is tomorrow at %(session_time)s."),
        )},
    ),
)

_CHECKINS = tuple(
    ReminderRule(
        key=f"checkin_day{day}", categories=("checkins",), anchor="start", day=day,
        clock=REMINDER_CHECKIN, same_day=True, useful_for=timedelta(hours=2), urgency="low",
        link="/checkins/new",
        texts={("checkins",): _text(
            N_("How is your skin today?"),
            N_("Take 20 seconds to check in, so your clinic knows how your recovery is "
               "going."),
            N_("Take 20 seconds to check in today."),
        )},
    )
    for day in (1, 2, 3)
)

_MAINTENANCE = ReminderRule(
    key="maintenance", categories=("sessions",), anchor="last", day=MAINTENANCE_AFTER.days,
    clock="morning", useful_for=timedelta(days=3), urgency="low",
    texts={("sessions",): _text(
        N_("Time for a maintenance session?"),
        N_("It has been three months since your last session. A maintenance session helps "
           "keep your results: ask your clinic."),
        N_("It has been three months: time to book your next appointment?"),
    )},
)

REMINDER_RULES: Mapping[str, ReminderRule] = MappingProxyType(
    {r.key: r for r in (*_AFTER_SESSION, *_BEFORE_SESSION, *_CHECKINS, _MAINTENANCE)}
)
