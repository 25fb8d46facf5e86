"""Texts and reminders follow the windows in force (issue #10, points 2 and 4): pure tests."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meso import protocol, reminder_texts, reminders
from meso.recovery import plan_day, session_schedule
from meso.reminders import Settings, schedule

ROME = ZoneInfo("Europe/Rome")
SESSION = datetime(2026, 11, 20, 10, 0, tzinfo=ROME)

# Every window changed from its default (heat 3 days, sun 60 h, ..., tanning beds 5 days).
CHANGED = protocol.DEFAULT_PROTOCOL.with_overrides({
    "heat": 72, "sun": 60, "makeup": 30, "hair_wash": 36, "exfoliants": 240,
    "vitamin_a": 504, "acids_peels": 400, "tanning_beds": 120,
})
# The default windows' lengths, however a text might say them.
DEFAULT_DURATION = re.compile(
    r"\b(two|2) days\b|\b48[ -]?(h|hours?)\b|\b(seven|7) days\b|\b(a|one|1|this|the) week\b"
    r"|\b(two|2) weeks\b|\b14 days\b|\b(24|twenty-four)[ -]?(h|hours?)\b|\bfirst two days\b"
    r"|\bone to two days\b",
    re.IGNORECASE,
)


def course(area="face", planned=2, interval=6):
    return SimpleNamespace(area=area, timezone="Europe/Rome", planned_sessions=planned,
                           interval_weeks=interval)


def kept(c):
    return session_schedule([SESSION], c.planned_sessions, c.interval_weeks, ROME)


def today_texts(plan) -> list[str]:
    shown = [protocol.PHASE_NAMES[plan.phase], protocol.PHASE_SUMMARIES[plan.phase]]
    for item in plan.avoid:
        shown += [protocol.RESTRICTIONS[item.key].name, protocol.RESTRICTIONS[item.key].why]
    shown += [protocol.RESTRICTIONS[item.key].ok_name for item in plan.allowed_again]
    return [*shown, *plan.normal, *plan.do_today, *plan.prepare, *protocol.RED_FLAGS]


@pytest.mark.parametrize(
    "text",
    ["The first two days are over: heat and sun are fine again.",
     "Two weeks are over: retinol ... are fine again.", "No tanning beds this week",
     "redness or swelling that gets worse after two days instead of better",
     "Avoid tanning beds in the week before your session.", "within 48 hours",
     "usually fade within one to two days"],
)
def test_the_check_finds_the_fixed_durations_texts_used_to_name(text):
    assert DEFAULT_DURATION.search(text)


@pytest.mark.parametrize("area", protocol.AREAS)
def test_no_text_of_any_area_or_day_names_a_default_window(area):
    """Today on days -10..75 (every phase) and every reminder, with every window changed."""
    c = course(area)
    for day in range(-10, 76):
        for clock in (time(9, 0), time(12, 0), time(20, 0)):
            at = datetime.combine(SESSION.date() + timedelta(days=day), clock, ROME)
            for text in today_texts(plan_day(c, kept(c), at, CHANGED)):
                assert not DEFAULT_DURATION.search(text), (day, text)
    items = reminders.preview(c, kept(c), CHANGED)
    assert len(items) > 20
    for item in items:
        assert not DEFAULT_DURATION.search(item["title"] + " " + item["body"]), item


def test_every_reminder_text_of_every_rule_names_no_default_window():
    values = reminder_texts.text_values(SESSION, CHANGED, ROME)
    for rule in protocol.REMINDER_RULES.values():
        for text in rule.texts.values():
            for part in (text.title, text.body, text.discreet_body, text.still):
                assert not DEFAULT_DURATION.search(part % values), part


def test_reminder_texts_name_the_windows_in_force():
    items = {i["key"]: i for i in reminders.preview(course(), kept(course()), CHANGED)}
    assert "until then (5 days), skip tanning beds" in items["tanning_beds"]["body"]
    assert "until Mon 10:00" in items["session_day"]["body"]  # heat: 72 h after Fri 10:00
    assert "stay out of direct sun until Sun 22:00" in items["session_day"]["body"]  # 60 h
    default = {i["key"]: i for i in reminders.preview(course(), kept(course()))}
    assert "until then (7 days), skip tanning beds" in default["tanning_beds"]["body"]


def test_durations_are_worded_for_the_locale():
    italian = reminder_texts.Wording(locale="it")
    values = reminder_texts.text_values(SESSION, CHANGED, ROME, italian)
    assert values["tanning_beds_window"] == "5 giorni"
    assert values["vitamin_a_window"] == "3 settimane"
    assert values["session_time"] == "10:00"


# -- "OK again" reminders fire as their windows end ---------------------------------------------

END_KEYS = ("heat", "sun", "exfoliants", "vitamin_a", "acids_peels")


@settings(max_examples=150, deadline=None)
@given(
    start=st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 31), timezones=st.just(UTC)),
    hours=st.fixed_dictionaries({key: st.integers(1, 600) for key in END_KEYS}),
    quiet_start=st.integers(19, 23),
    quiet_end=st.integers(5, 9),
)
def test_every_ok_again_reminder_fires_at_its_windows_end(start, hours, quiet_start, quiet_end):
    """Each window with a length gets an "OK again" at its end, or as its quiet hours end."""
    windows = protocol.DEFAULT_PROTOCOL.with_overrides(hours)
    chosen = Settings(quiet_start=time(quiet_start), quiet_end=time(quiet_end))
    items = schedule(course(planned=1), [start], windows, chosen)
    ends = windows.window_ends(start)
    for key in END_KEYS:
        said = [i for i in items if key in protocol.REMINDER_RULES[i.rule].windows
                and protocol.REMINDER_RULES[i.rule].anchor == "end"]
        assert len(said) == 1, (key, [i.rule for i in items])
        end = ends[key].astimezone(ROME)
        assert said[0].fire_at == reminders.after_quiet_hours(end, chosen)


def test_heat_and_sun_ending_together_share_one_reminder():
    items = {i.rule for i in schedule(course(planned=1), [SESSION])}
    assert "heat_sun_ok" in items and not {"heat_ok", "sun_ok"} & items
    assert "vitamin_a_ok" in items and not {"retinol_ok", "acids_ok"} & items


@pytest.mark.parametrize(
    ("hours", "fire"),
    [(24, "2026-12-31T10:00"), (120, "2026-12-27T10:00"), (168, "2026-12-25T10:00"),
     (240, "2026-12-22T10:00"), (250, "2026-12-22T08:00")],
)
def test_the_tanning_bed_reminder_fires_its_window_before_the_next_session(hours, fire):
    """At session minus window, or as the quiet hours end (250 h before 10:00 is 00:00)."""
    sessions = [SESSION, datetime(2027, 1, 1, 10, 0, tzinfo=ROME)]
    windows = protocol.DEFAULT_PROTOCOL.with_overrides({"tanning_beds": hours})
    (item,) = [i for i in schedule(course(), sessions, windows)
               if i.rule == "tanning_beds" and i.session == 2]
    assert item.fire_at == datetime.fromisoformat(fire).replace(tzinfo=ROME)
    assert item.expires_at <= sessions[1]


def test_instants_a_week_or_more_away_carry_their_date():
    """'until Fri' a week ahead would be ambiguous: such instants are named with the date."""
    items = {i["key"]: i for i in reminders.preview(course(planned=1), [SESSION])}
    assert "until Sun 10:00" in items["session_day"]["body"]
    assert items["exfoliants_ok"]["body"].endswith(
        "Retinol and acid creams still wait until Fri 4 Dec, 10:00.")
    assert "until Fri 4 Dec, 10:00" in items["vitamin_a_week2"]["body"]
