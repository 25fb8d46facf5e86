"""What a patient reads, by area and day (issue #10, points 1, 3 and 6): pure planner tests."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from meso import protocol, reminders
from meso.recovery import DayPlan, plan_day, session_schedule, timeline

ROME = ZoneInfo("Europe/Rome")
SESSION = datetime(2026, 11, 20, 10, 0, tzinfo=ROME)


def course(area="face", planned=2, interval=6):
    return SimpleNamespace(area=area, timezone="Europe/Rome", planned_sessions=planned,
                           interval_weeks=interval)


def kept(c):
    return session_schedule([SESSION], c.planned_sessions, c.interval_weeks, ROME)


def on_day(c, day, clock=time(9, 0)):
    """The plan at a local clock time on a day counted from the first session."""
    at = datetime.combine(SESSION.date() + timedelta(days=day), clock, ROME)
    return plan_day(c, kept(c), at)


def texts(plan: DayPlan) -> list[str]:
    """Every text Today shows for this plan (msgids, before translation)."""
    shown = [protocol.PHASE_NAMES[plan.phase], protocol.PHASE_SUMMARIES[plan.phase]]
    for item in plan.avoid:
        rule = protocol.RESTRICTIONS[item.key]
        shown += [rule.name, rule.why]
    shown += [protocol.RESTRICTIONS[item.key].ok_name for item in plan.allowed_again]
    return [*shown, *plan.normal, *plan.do_today, *plan.prepare]


# Sessions on days 0 and 42: every phase, twice, and the days before a session.
DAYS = range(-10, 76)


def every_plan(area):
    c = course(area)
    for day in DAYS:
        for clock in (time(9, 0), time(20, 0)):
            yield on_day(c, day, clock)


# -- 1. content by area ------------------------------------------------------------------------


@pytest.mark.parametrize("area", ["scalp", "body"])
def test_makeup_is_never_mentioned_outside_the_face(area):
    """Neither Today nor any reminder speaks of makeup to a scalp or body patient."""
    for plan in every_plan(area):
        assert "makeup" not in {a.key for a in plan.avoid} | {a.key for a in plan.allowed_again}
        for text in texts(plan):
            assert "makeup" not in text.lower(), (plan.day, text)
    for item in reminders.preview(course(area), kept(course(area))):
        assert "makeup" not in (item["title"] + item["body"]).lower()
    events = [e for d in timeline(course(area), [SESSION]) for e in d.events]
    assert "makeup" not in {e.key for e in events}


def test_the_face_has_its_makeup_rule():
    plan = on_day(course("face"), 0, time(12, 0))
    assert "makeup" in {a.key for a in plan.avoid}


def test_the_scalp_waits_to_wash_hair_for_the_clinics_window():
    """Hair washing waits for the hair_wash window (clinic practice, 24 h by default)."""
    scalp = course("scalp")
    plan = plan_day(scalp, kept(scalp), SESSION + timedelta(hours=3))
    until = {a.key: a.until for a in plan.avoid}
    assert until["hair_wash"] == SESSION + timedelta(hours=24)
    assert protocol.RESTRICTIONS["hair_wash"].basis == protocol.CLINIC_PRACTICE
    assert any("shampoo" in line for line in plan.do_today)
    later = plan_day(scalp, kept(scalp), SESSION + timedelta(hours=25))
    assert {a.key: a.since for a in later.allowed_again}["hair_wash"] == SESSION + timedelta(
        hours=24)
    clinic = protocol.DEFAULT_PROTOCOL.with_overrides({"hair_wash": 48})
    plan = plan_day(scalp, kept(scalp), SESSION + timedelta(hours=25), clinic)
    assert {a.key: a.until for a in plan.avoid}["hair_wash"] == SESSION + timedelta(hours=48)
    for area in ("face", "body"):
        for plan in every_plan(area):
            assert "hair_wash" not in {a.key for a in plan.avoid + plan.allowed_again}


@pytest.mark.parametrize("area", protocol.AREAS)
def test_every_area_reads_about_bruising_in_the_first_week(area):
    for day in range(0, 8):
        normal = " ".join(on_day(course(area), day, time(12, 0)).normal)
        assert "bruise" in normal, day
    assert "bruise" not in " ".join(on_day(course(area), 9).normal)


@pytest.mark.parametrize(
    ("area", "present", "absent"),
    [("face", ["look fresher", "Wash your face", "moisturiser"], ["shampoo", "scalp"]),
     ("scalp", ["scalp may feel tender", "shampoo"], ["Wash your face", "moisturiser",
                                                       "look fresher"]),
     ("body", ["warm and tender", "fragrance-free wash", "more common on the body"],
      ["Wash your face", "shampoo", "look fresher"])],
)
def test_normal_and_do_lines_are_chosen_by_area(area, present, absent):
    plan = on_day(course(area), 1)
    shown = " ".join(plan.normal + plan.do_today)
    for words in present:
        assert words in shown
    for words in absent:
        assert words not in shown


@pytest.mark.parametrize("area", protocol.AREAS)
def test_before_the_first_session_the_preparation_list_covers_the_guide(area):
    plan = on_day(course(area), -3)
    assert plan.phase == "preparation"
    shown = " ".join(plan.prepare)
    for words in ("blood thinners", "medical condition", "isotretinoin by mouth", "cold sores",
                  "antiviral", "allergies", "sensitive skin", "procedures", "scar easily",
                  "inflamed or infected", "the session may need to move",
                  "No tanning beds in the days before"):
        assert words in shown, words
    assert plan.prepare == protocol.PREPARE


# -- 3. sun, acids and peels said right --------------------------------------------------------


@pytest.mark.parametrize("area", protocol.AREAS)
def test_daily_sunscreen_in_every_phase_with_no_end_date(area):
    """A zinc-oxide sunscreen line on every day, stressed right after a session, never "until"."""
    seen = set()
    for plan in every_plan(area):
        sunscreen = [line for line in plan.do_today if "sunscreen" in line]
        assert len(sunscreen) == 1, (plan.day, plan.do_today)
        assert "until" not in sunscreen[0]
        stressed = sunscreen[0] == protocol.SUNSCREEN_TODAY
        assert stressed == (plan.phase in ("immediate", "first_weeks"))
        seen.add(plan.phase)
        assert not any("sunscreen" in a.key for a in plan.avoid)
    assert seen == set(protocol.PHASES)
    assert not hasattr(on_day(course(area), 1), "sunscreen_until")


def test_sun_ok_again_means_outdoors_with_sunscreen_and_no_sunbathing():
    sun = protocol.RESTRICTIONS["sun"]
    assert "sunscreen" in sun.ok_name and "no sunbathing" in sun.ok_name
    assert "tanning" not in (sun.name + sun.ok_name + sun.why).lower()
    for key in ("heat_sun_ok", "sun_ok"):
        for text in protocol.REMINDER_RULES[key].texts.values():
            if "outdoors" in text.body:
                assert "sunscreen" in text.body and "no sunbathing" in text.body
                assert "sunscreen" in text.discreet_body


# A sentence that names tanning beds must forbid them.
FORBIDS = re.compile(r"\b(no|skip|avoid)\b", re.I)


def tanning_sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.:;])\s+", text) if "tanning" in s.lower()]


@pytest.mark.parametrize("area", protocol.AREAS)
def test_no_text_or_reminder_ever_says_tanning_beds_are_fine(area):
    for plan in every_plan(area):
        assert "tanning_beds" not in {a.key for a in plan.allowed_again}
        for text in [*plan.normal, *plan.do_today, *plan.prepare]:
            for sentence in tanning_sentences(text):
                assert FORBIDS.search(sentence), sentence
    for day in timeline(course(area), [SESSION]):
        assert not [e for e in day.events if e.kind == "ends" and e.key == "tanning_beds"]
    for item in reminders.preview(course(area), kept(course(area))):
        for sentence in tanning_sentences(item["title"] + ". " + item["body"]):
            assert FORBIDS.search(sentence), sentence
    for rule in protocol.REMINDER_RULES.values():
        for text in rule.texts.values():
            for part in (text.title, text.body, text.discreet_body, text.still):
                for sentence in tanning_sentences(part):
                    assert FORBIDS.search(sentence), sentence


def test_acids_ok_again_speaks_of_creams_and_peels_ask_the_practitioner():
    acids = protocol.RESTRICTIONS["acids_peels"]
    for text in (acids.name, acids.ok_name):
        assert "creams" in text
        assert "for peels and lasers, ask your practitioner first" in text
    for key in ("vitamin_a_ok", "acids_ok"):
        (text,) = protocol.REMINDER_RULES[key].texts.values()
        assert "creams" in text.body
        assert "ask your practitioner first" in text.body
        assert "peels are fine" not in text.body.lower()


# -- 6. the cumulative phase, as patients read it ---------------------------------------------


@pytest.mark.parametrize("area", protocol.AREAS)
def test_the_cumulative_phase_reads_over_your_course(area):
    plan = plan_day(course(area, planned=1), [SESSION], SESSION + timedelta(days=40))
    assert plan.phase == "cumulative"
    assert protocol.PHASE_NAMES[plan.phase] == "Over your course"
    assert plan.normal[0] == protocol.CUMULATIVE_RESULTS[area]
    assert any("build with every session" in line for line in plan.normal)
