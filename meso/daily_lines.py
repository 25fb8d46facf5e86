"""What a patient reads each day: "normal today", "do today", before a session, red flags.

Each line says when it applies (phases, areas, local days since the latest session) and what
it rests on: a quote of the clinic's guide, clinic practice, or clinical caution. The planner
(recovery.py) picks the lines of a day; nothing here names a duration a clinic's window can
change (the windows' own instants are shown with the restrictions instead).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from meso.protocol_base import (
    ANY_DAY,
    CLINIC_PRACTICE,
    CLINICAL_CAUTION,
    GUIDE,
    N_,
    Days,
    in_days,
)

AFTER = ("immediate", "first_weeks")  # the phases right after a session


@dataclass(frozen=True)
class Line:
    """One line of Today, and when it applies."""

    text: str
    phases: tuple[str, ...]
    areas: tuple[str, ...] = ()  # empty: every area
    days: Days = ANY_DAY  # local days since the latest session
    source: str = ""  # the guide's words, for guide lines
    basis: str = GUIDE

    def applies(self, phase: str, area: str, day: int) -> bool:
        return (phase in self.phases and (not self.areas or area in self.areas)
                and in_days(day, self.days))


def select(lines: tuple[Line, ...], phase: str, area: str, day: int) -> tuple[str, ...]:
    """Return the texts of the lines that apply, in table order."""
    return tuple(line.text for line in lines if line.applies(phase, area, day))


SKIN_SETTLES = "Some redness, warmth, sensitivity, or swelling is normal and typically fades"
HEALTHY = "Maintaining a healthy lifestyle further prolongs and enhances the outcome"

# What the cumulative phase means for each area (shown on Today and the Timeline).
CUMULATIVE_RESULTS = MappingProxyType({
    "face": N_("Over the course, skin tends to become firmer, smoother and more even in "
               "tone, with fine lines softened and a healthy glow. Maintenance sessions "
               "help it last."),
    "scalp": N_("On the scalp, results come over months: better density and stronger "
                "follicles, especially with hereditary (androgenetic) hair loss. "
                "Maintenance sessions help keep them."),
    "body": N_("On the body, contours and firmness improve gradually over several "
               "sessions, best alongside regular exercise. Maintenance sessions help "
               "keep the result."),
})

# During a course, on Today's next-session card (the cumulative phase says it in its summary).
# Guide: "Each mesotherapy treatment builds on the cellular improvements created by the
# previous session, enhancing cumulative results."
COURSE_BUILDS = N_("Each session builds on the one before: your results grow over the course.")

SECOND_WEEK_NORMAL = (
    N_("Second week: keep your routine simple and gentle while the skin finishes "
       "recovering."),
)

NORMAL_LINES: tuple[Line, ...] = (
    Line(N_("The session itself is short: the area is cleaned, a numbing cream is applied, "
            "then very fine needles place tiny drops of the treatment into the skin."),
         ("preparation",), source="The session begins with gentle cleansing ... a numbing "
         "cream is applied ... very fine needles"),
    Line(N_("Right after, you may see small bumps and a little redness. Both are expected."),
         ("preparation",), source="small bumps that disappear within hours. Mild redness"),
    Line(N_("The small bumps from the injections usually flatten within a few hours."),
         ("immediate",), days=(0, 0), source="small bumps that disappear within hours"),
    Line(N_("Your skin may look fresher, slightly plumper and well hydrated."),
         ("immediate",), areas=("face",), source="refreshed, lightly plumped, and "
         "well-hydrated"),
    Line(N_("Mild redness, warmth, tenderness or swelling are normal and usually fade "
            "within a day or two."), ("immediate",), source=SKIN_SETTLES),
    Line(N_("Tiny pinpoint spots of blood can appear and clear up quickly."),
         ("immediate",), source="temporary pinpoint bleeding can also occur"),
    Line(N_("The scalp may feel tender or tight where the needles went in."),
         ("immediate",), areas=("scalp",), source=SKIN_SETTLES),
    Line(N_("The treated area may feel warm and tender to the touch."),
         ("immediate",), areas=("body",), source=SKIN_SETTLES),
    # Bruising is not in the guide; it can follow any needle, on every area.
    Line(N_("A small bruise can appear where a needle went in; it fades over the "
            "following days."), AFTER, areas=("face",), days=(0, 7), basis=CLINICAL_CAUTION),
    Line(N_("A small bruise under the hair can appear where a needle went in; it fades over "
            "the following days."), AFTER, areas=("scalp",), days=(0, 7),
         basis=CLINICAL_CAUTION),
    Line(N_("Small bruises are more common on the body; they fade over the following days."),
         AFTER, areas=("body",), days=(0, 7), basis=CLINICAL_CAUTION),
    Line(N_("Hydration and circulation keep improving step by step."), ("first_weeks",),
         source="hydration and microcirculation steadily improve"),
    Line(N_("Changes are gradual: compare with how you looked before the session, "
            "not with yesterday."), ("first_weeks",), source="The changes are gradual"),
    Line(SECOND_WEEK_NORMAL[0], ("first_weeks",), days=(7, 13),
         source="During the second week of your post treatment phase, skin requires gentle "
         "care"),
    Line(N_("Hair changes take months, not weeks: it is normal to see no difference yet."),
         ("first_weeks",), areas=("scalp",), source="more pronounced improvements after "
         "completing a full treatment course"),
    Line(N_("Contour changes usually show only after several sessions."), ("first_weeks",),
         areas=("body",), source="With repeated treatments ... redefined contours"),
    Line(N_("Results build with every session and are clearest after the full course."),
         ("cumulative",), source="Each mesotherapy treatment builds on the cellular "
         "improvements created by the previous session"),
    Line(N_("Maintenance sessions help keep what you have gained."), ("cumulative",),
         source="Maintenance sessions help sustain hydration and firmness"),
)

# The guide gives sunscreen no end date: daily, in every phase, stressed in the first weeks.
SUNSCREEN_TODAY = N_("Put a zinc-oxide sunscreen on the treated area every day, even when it "
                     "is cloudy: it matters most in these first weeks.")
SUNSCREEN = "Use a zinc oxide based sunscreen daily"

DO_LINES: tuple[Line, ...] = (
    Line(SUNSCREEN_TODAY, AFTER, source=SUNSCREEN),
    Line(N_("Keep up a zinc-oxide sunscreen on the treated area every day."),
         ("preparation", "cumulative"), source=SUNSCREEN),
    Line(N_("Keep your usual gentle skincare routine."), ("preparation",),
         areas=("face", "body"), basis=CLINIC_PRACTICE),
    Line(N_("Keep your usual hair-care routine."), ("preparation",), areas=("scalp",),
         basis=CLINIC_PRACTICE),
    Line(N_("Wash your face only with a mild cleanser and lukewarm water."), ("immediate",),
         areas=("face",), source="Wash your face with mild cleansers"),
    Line(N_("Wash the treated area only with a mild, fragrance-free wash and lukewarm "
            "water."), ("immediate",), areas=("body",), source="Wash your face with mild "
         "cleansers"),
    # When to wash hair after scalp injections is each clinic's call (the hair_wash window).
    Line(N_("When your clinic's wait is over, wash your hair gently with a mild shampoo and "
            "lukewarm water."), ("immediate",), areas=("scalp",), basis=CLINIC_PRACTICE),
    Line(N_("Apply a gentle, fragrance-free moisturiser."), ("immediate",),
         areas=("face", "body"), source="use gentle moisturizers"),
    Line(N_("Stay cool and drink plenty of water."), ("immediate",),
         source="heat can trigger irritation and increase inflammation"),
    Line(N_("Mild cleanser, gentle moisturiser: keep the routine simple and hydrating."),
         ("first_weeks",), areas=("face", "body"), source="a simple active skincare routine "
         "that hydrates and supports the skin barrier"),
    Line(N_("Mild shampoo and a simple routine: no harsh scalp scrubs or treatments."),
         ("first_weeks",), areas=("scalp",), source="Avoid overly aggressive products"),
    Line(N_("Sleep well, drink water and eat well: it helps the skin repair."),
         ("first_weeks",), source=HEALTHY),
    Line(N_("Keep up a gentle, hydrating routine and a healthy lifestyle."), ("cumulative",),
         source=HEALTHY),
    Line(N_("Regular exercise helps the contouring results."), ("cumulative",),
         areas=("body",), source="especially when combined with fitness routines"),
)

# Before a session: shown in the days before the next one, and from enrolment before the first.
PREPARE_LINES: tuple[Line, ...] = (
    Line(N_("Tell your clinic if you take blood thinners, have a medical condition, or have "
            "recently taken isotretinoin by mouth (an acne medicine)."), ("preparation",),
         source="if you take a blood thinner, have an existing medical condition, or have "
         "recently used oral isotretinoin"),
    Line(N_("If you get cold sores (fever blisters), ask beforehand whether you should take "
            "an antiviral medicine."), ("preparation",),
         source="Those prone to fever blisters may be advised to take antiviral medication "
         "beforehand"),
    Line(N_("Mention any allergies or sensitive skin, and treatments or procedures you have "
            "had before."), ("preparation",),
         source="discuss allergies, sensitivities, and previous procedures"),
    Line(N_("Tell your clinic if you scar easily."), ("preparation",),
         source="an increased risk of scarring should discuss these details"),
    Line(N_("If the skin in the area is inflamed or infected, call your clinic before you "
            "come: the session may need to move."), ("preparation",),
         source="Those with chronic illness, severe inflammation ... should discuss these "
         "details with a qualified practitioner"),
    Line(N_("No tanning beds in the days before your session."), ("preparation",),
         source="In the days leading up to your mesotherapy treatment, it is recommended to "
         "avoid tanning beds"),
)
PREPARE: tuple[str, ...] = tuple(line.text for line in PREPARE_LINES)

# Not from the guide: ordinary clinical caution, worded as "contact your clinic".
RED_FLAGS: tuple[str, ...] = (
    N_("redness or swelling that spreads or gets worse at any time, or is not fading by "
       "day 3"),
    N_("pus or any discharge from the treated area"),
    N_("a fever"),
    N_("severe pain, or pain that keeps increasing"),
    N_("hard lumps that do not go away"),
    N_("a rash or hives"),
    N_("blisters, or a cold sore flaring up"),
    N_("skin turning pale, grey or blotchy"),
)
EMERGENCY = N_("Trouble breathing, or swelling of the lips, tongue or throat: call emergency "
               "services now.")

# When the clinic's opening hours say it is closed (clinic practice: what a clinic's front desk
# tells callers out of hours), under the red flags on Today.
CLOSED_NOW = N_("Your clinic is closed now.")
OPENS_AGAIN = N_("It opens again %(when)s.")
OUT_OF_HOURS = N_("For an emergency, call %(number)s now. For anything else, call the clinic "
                  "and leave a message, or call again when it opens.")
