"""The daily check-in as data: its questions, and the rules that answer "is this normal today?".

Twenty seconds: how the treated area feels overall (1-5), five signs each none to strong, the
trend since yesterday, and the red flags. Only these answers are stored, never free text.
advice.py applies the rules; each rule has its reason (a sentence the patient reads) and what
it rests on (the guide, or clinical caution). The answer is one of ADVICE_LEVELS, lowest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from meso.daily_lines import EMERGENCY
from meso.protocol_base import ANY_DAY, CLINICAL_CAUTION, GUIDE, N_, Days

CHECKIN_QUESTION = N_("How does the treated area feel today?")
CHECKIN_FEELINGS = MappingProxyType(  # stored as the number; 5 is the best
    {5: N_("Very good"), 4: N_("Good"), 3: N_("OK"), 2: N_("Not good"), 1: N_("Bad")}
)
CHECKIN_FLAGS_QUESTION = N_("Do you notice any of these?")
# The red flags, as short ticks. Keys are stored; never rename one.
CHECKIN_FLAGS = MappingProxyType(
    {
        "worse": N_("Redness or swelling that spreads or gets worse"),
        "discharge": N_("Pus or discharge"),
        "fever": N_("Fever"),
        "pain": N_("Severe or increasing pain"),
        "lumps": N_("Hard lumps that do not go away"),
        "rash": N_("A rash or hives"),
        "cold_sore": N_("Blisters or a cold sore"),
        "colour_change": N_("Skin turning pale, grey or blotchy"),
        "breathing": N_("Trouble breathing, or swelling of the lips, tongue or throat"),
    }
)
CHECKIN_EMERGENCY_FLAGS = frozenset({"breathing"})

# The five signs, each rated on SIGN_LEVELS (mildest first); the trend since yesterday.
CHECKIN_SIGNS = MappingProxyType(
    {
        "redness": N_("Redness"),
        "swelling": N_("Swelling"),
        "tenderness": N_("Tenderness"),
        "bumps": N_("Bumps"),
        "bruising": N_("Bruising"),
    }
)
CHECKIN_SIGNS_QUESTION = N_("How strong is each of these today?")
SIGN_LEVELS = MappingProxyType(
    {"none": N_("None"), "mild": N_("Mild"), "moderate": N_("Moderate"), "strong": N_("Strong")}
)
CHECKIN_TREND_QUESTION = N_("How is it compared with yesterday?")
CHECKIN_TRENDS = MappingProxyType(  # better first: the order is how bad it is
    {"better": N_("Better"), "same": N_("The same"), "worse": N_("Worse")}
)
ADVICE_LEVELS = ("expected", "watch", "call_clinic", "emergency")


@dataclass(frozen=True)
class AdviceRule:
    """One answer to a check-in, and the conditions that call for it (all must hold).

    Conditions other than ``days`` and ``areas`` are "this bad or worse": a sign at least
    ``at_least``, a trend at least ``trend``, a feeling at most ``feeling_at_most``, any of
    ``symptoms``. Only "expected" rules narrow a sign with ``at_most``: then worsening an
    answer can never lower the advice.
    """

    key: str
    advice: str
    reason: str  # what the patient reads
    basis: str
    source: str = ""
    days: Days = ANY_DAY  # local days since the latest session (negative: before the first)
    signs: tuple[str, ...] = ()  # any of these signs ...
    at_least: str = "mild"  # ... rated at least this ...
    at_most: str = "strong"  # ... and at most this
    trend: str | None = None
    feeling_at_most: int | None = None
    symptoms: frozenset[str] = frozenset()
    areas: tuple[str, ...] = ()  # empty: every area


SETTLES = "Some redness, warmth, sensitivity, or swelling is normal and typically fades within " \
    "24-48 hours"
RED_SWOLLEN = ("redness", "swelling")
SETTLING = ("redness", "swelling", "tenderness")
ALL_SIGNS = tuple(CHECKIN_SIGNS)


def _rule(key, advice, reason, basis=CLINICAL_CAUTION, **conditions) -> AdviceRule:
    return AdviceRule(key, advice, reason, basis, **conditions)


ADVICE_RULES: tuple[AdviceRule, ...] = (
    # -- expected: what the first days look like ------------------------------------------------
    _rule("early_redness_swelling", "expected",
          N_("Some redness and swelling are normal in the first day or two after a session."),
          GUIDE, source=SETTLES, signs=RED_SWOLLEN, at_most="moderate", days=(0, 2)),
    _rule("early_tenderness", "expected",
          N_("Tenderness and warmth are normal in the first day or two."),
          GUIDE, source=SETTLES, signs=("tenderness",), at_most="moderate", days=(0, 2)),
    _rule("rough_start", "expected",
          N_("The first day or two can be uncomfortable; it should ease day by day."),
          GUIDE, source=SETTLES, feeling_at_most=2, days=(0, 2)),
    _rule("fading_day3", "expected",
          N_("A little redness, swelling or tenderness that is fading by day 3 is fine."),
          signs=SETTLING, at_most="mild", days=(3, 3)),
    _rule("session_bumps", "expected",
          N_("Small bumps from the injections usually flatten within a few hours."),
          GUIDE, source="small bumps that disappear within hours", signs=("bumps",),
          at_most="moderate", days=(0, 0)),
    _rule("small_bruise", "expected",
          N_("A small bruise where a needle went in can happen on any area; it fades over the "
             "following days."), signs=("bruising",), at_most="moderate", days=(0, 14)),
    # -- watch: check again tomorrow ---------------------------------------------------------
    _rule("strong_early", "watch",
          N_("This is stronger than usual for the first days. Check again tomorrow, and call "
             "your clinic if it spreads or gets worse."),
          signs=SETTLING, at_least="strong", days=(0, 2)),
    _rule("not_fading_yet", "watch",
          N_("By day 3, redness, swelling and tenderness should be fading. Check again "
             "tomorrow, and call your clinic if they are not going down."),
          signs=SETTLING, at_least="moderate", days=(3, 3)),
    _rule("lingering", "watch",
          N_("Redness, swelling or tenderness from a session should have faded by now. Check "
             "again tomorrow, and call your clinic if it stays."),
          signs=SETTLING, days=(4, None)),
    _rule("bumps_staying", "watch",
          N_("Bumps from the injections usually flatten within hours. Check again tomorrow, "
             "and call your clinic if they stay or feel hard."),
          signs=("bumps",), days=(1, None)),
    _rule("big_bumps", "watch",
          N_("These bumps are bigger than usual. Check again tomorrow, and call your clinic if "
             "they stay or feel hard."),
          signs=("bumps",), at_least="strong", days=(0, 0)),
    _rule("big_bruise", "watch",
          N_("A large bruise is worth watching. Check again tomorrow, and call your clinic if "
             "it grows or hurts more."),
          signs=("bruising",), at_least="strong", days=(0, None)),
    _rule("late_bruise", "watch",
          N_("A bruise from a session should have faded by now. Check again tomorrow, and "
             "call your clinic if it stays."),
          signs=("bruising",), days=(15, None)),
    _rule("worse_after_day1", "watch",
          N_("After the first day, things should get better, not worse. Check again "
             "tomorrow, and call your clinic if it goes on."),
          trend="worse", days=(2, None)),
    _rule("bad_day", "watch",
          N_("A bad day this long after a session is worth watching. Check again tomorrow, "
             "and call your clinic if you are worried."),
          feeling_at_most=2, days=(3, None)),
    _rule("before_session", "watch",
          N_("Skin that is red, swollen or sore before a session is worth telling your clinic "
             "about: the session may need to move."),
          GUIDE, source="severe inflammation ... should discuss these details",
          signs=ALL_SIGNS, days=(None, -1)),
    # -- call_clinic: today --------------------------------------------------------------------
    _rule("red_flag", "call_clinic",
          N_("You noticed a warning sign: your clinic wants to hear about it today."),
          symptoms=frozenset(CHECKIN_FLAGS)),
    _rule("strong_by_day3", "call_clinic",
          N_("Strong redness or swelling on day 3 or later should be checked by your clinic."),
          signs=RED_SWOLLEN, at_least="strong", days=(3, None)),
    _rule("not_fading", "call_clinic",
          N_("Redness or swelling that is not fading by day 3 should be checked by your "
             "clinic."),
          signs=RED_SWOLLEN, at_least="moderate", days=(4, None)),
    _rule("worse_redness", "call_clinic",
          N_("Redness or swelling that gets worse after the first day should be checked by "
             "your clinic."),
          signs=RED_SWOLLEN, trend="worse", days=(2, None)),
    _rule("strong_pain", "call_clinic",
          N_("Strong or increasing pain after the first days should be checked by your "
             "clinic."),
          signs=("tenderness",), at_least="strong", days=(3, None)),
    _rule("lumps_staying", "call_clinic",
          N_("Bumps or lumps that are still there by now should be checked by your clinic."),
          signs=("bumps",), at_least="moderate", days=(7, None)),
    _rule("inflamed_before_session", "call_clinic",
          N_("Call your clinic before your session: inflamed skin in the area may mean the "
             "session needs to move."),
          GUIDE, source="severe inflammation ... should discuss these details",
          signs=ALL_SIGNS, at_least="moderate", days=(None, -1)),
    # -- emergency ------------------------------------------------------------------------------
    _rule("emergency", "emergency", EMERGENCY, symptoms=CHECKIN_EMERGENCY_FLAGS),
)

# The reason when no rule has anything to say.
NOTHING_UNUSUAL = _rule(
    "nothing_unusual", "expected",
    N_("Nothing you noted is unusual for this point of your recovery. Thank you for checking "
       "in."))


# What the answer page says for each advice level (templates/patient/checkin_macros.html),
# above the reasons of the rules that spoke.
ADVICE_TITLES = MappingProxyType(
    {
        "expected": N_("This is normal for now"),
        "watch": N_("Check again tomorrow"),
        "call_clinic": N_("Call your clinic today"),
        "emergency": N_("Call emergency services now"),
    }
)
ADVICE_TEXTS = MappingProxyType(
    {
        "expected": N_("Keep following today's advice."),
        "watch": N_("Keep an eye on it and check in again tomorrow. Call your clinic sooner if "
                    "it gets worse."),
        "call_clinic": N_("Tell them what you noticed: this is not something to wait out."),
        "emergency": N_("Do not wait for your clinic to answer."),
    }
)
# What an answer means for the rest of the day (issue 15), under its title: the day's plan
# (what to avoid, what to do) stands either way. Clinical caution.
ADVICE_FOR_TODAY = MappingProxyType(
    {
        "expected": N_("For today: nothing changes. Keep to today's list of what to avoid and "
                       "what to do."),
        "watch": N_("For today: keep to today's aftercare as usual, and note whether it gets "
                    "better or worse."),
        "call_clinic": N_("For today: call before the day is over, and keep to today's "
                          "aftercare until your clinic says otherwise."),
    }
)
CALL_CLINIC_NO_PHONE = N_("Contact your clinic today and tell them what you noticed.")
AFTER_EMERGENCY = N_("When you are safe, let your clinic know too.")
# A check-in is not a call: nobody may read it for hours.
NOT_READ_AT_ONCE = N_("Your clinic may not read a check-in straight away. If you are worried, "
                      "call them.")
