"""Tests of the aftercare protocol data (meso/protocol.py) and clinic overrides."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from meso import protocol
from meso.protocol import DEFAULT_PROTOCOL, RESTRICTIONS, Protocol, validate_overrides
from meso.recovery import plan_day

ROME = ZoneInfo("Europe/Rome")
SESSION = datetime(2026, 11, 20, 10, 0, tzinfo=ROME)
COURSE = SimpleNamespace(area="face", timezone="Europe/Rome", planned_sessions=4, interval_weeks=3)

# DESIGN.md §3: key → (default window, anchored after the session or before the next one).
DESIGN_WINDOWS = {
    "heat": (timedelta(hours=48), "after"),
    "sun": (timedelta(hours=48), "after"),
    "makeup": (timedelta(hours=48), "after"),
    "exfoliants": (timedelta(days=7), "after"),
    "vitamin_a": (timedelta(days=14), "after"),
    "acids_peels": (timedelta(days=14), "after"),
    "tanning_beds": (timedelta(days=7), "before"),
    # Not in DESIGN.md's table: the scalp's hair-wash wait, clinic practice (issue #10).
    "hair_wash": (timedelta(hours=24), "after"),
}


def test_restriction_keys_match_design():
    """Exactly the public restriction keys of DESIGN.md §3 (and the scalp's hair wash) exist."""
    assert set(RESTRICTIONS) == set(DESIGN_WINDOWS)
    assert set(DEFAULT_PROTOCOL.windows) == set(DESIGN_WINDOWS)


@pytest.mark.parametrize(("key", "window", "anchor"),
                         [(k, w, a) for k, (w, a) in DESIGN_WINDOWS.items()])
def test_default_windows(key, window, anchor):
    """Each restriction has its default window and anchor, and the default protocol uses it."""
    rule = RESTRICTIONS[key]
    assert rule.key == key
    assert rule.default == window
    assert rule.anchor == anchor
    assert DEFAULT_PROTOCOL.windows[key] == window


@pytest.mark.parametrize("key", sorted(DESIGN_WINDOWS))
def test_every_rule_has_a_source_and_texts(key):
    """Every rule quotes the guide, or is marked clinic practice; and has patient texts."""
    rule = RESTRICTIONS[key]
    for text in (rule.name, rule.ok_name, rule.why):
        assert isinstance(text, str)
        assert text.strip()
    assert rule.basis in (protocol.GUIDE, protocol.CLINIC_PRACTICE)
    assert bool(rule.source.strip()) == (rule.basis == protocol.GUIDE)
    assert rule.areas and set(rule.areas) <= set(protocol.AREAS)


@pytest.mark.parametrize(
    ("key", "areas", "basis"),
    [("makeup", ("face",), protocol.GUIDE), ("hair_wash", ("scalp",), protocol.CLINIC_PRACTICE),
     ("heat", protocol.AREAS, protocol.GUIDE), ("tanning_beds", protocol.AREAS, protocol.GUIDE)],
)
def test_restrictions_apply_to_their_areas(key, areas, basis):
    """Makeup is the face's only; when to wash hair is the scalp's, and clinic practice."""
    rule = RESTRICTIONS[key]
    assert rule.areas == areas
    assert rule.basis == basis
    assert [a for a in protocol.AREAS if rule.applies_to(a)] == list(areas)


def test_phase_durations():
    """Immediate is 48 h, first weeks run to 28 days; phases are in order; sunscreen has no
    end date (the guide says "daily")."""
    assert protocol.PHASES == ("preparation", "immediate", "first_weeks", "cumulative")
    assert DEFAULT_PROTOCOL.immediate == timedelta(hours=48)
    assert DEFAULT_PROTOCOL.first_weeks == timedelta(days=28)
    assert DEFAULT_PROTOCOL.prepare_notice == timedelta(days=7)
    assert not hasattr(DEFAULT_PROTOCOL, "sunscreen")


def test_cumulative_is_shown_as_over_your_course():
    """The key stays "cumulative"; patients read "Over your course"."""
    assert protocol.PHASE_NAMES["cumulative"] == "Over your course"
    assert protocol.PHASE_STEP_NAMES["cumulative"] == "Over your course"
    assert "build" in protocol.PHASE_SUMMARIES["cumulative"]


@pytest.mark.parametrize("area", ["face", "scalp", "body"])
def test_every_area_has_its_texts(area):
    """Every area has a name and its own cumulative-results text."""
    assert area in protocol.AREAS
    assert protocol.AREA_NAMES[area].strip()
    assert protocol.CUMULATIVE_RESULTS[area].strip()


def test_cumulative_results_differ_by_area():
    """Areas differ in what the cumulative phase means (scalp over months)."""
    assert set(protocol.CUMULATIVE_RESULTS) == set(protocol.AREAS)
    assert len(set(protocol.CUMULATIVE_RESULTS.values())) == len(protocol.AREAS)
    assert "month" in protocol.CUMULATIVE_RESULTS["scalp"]


@pytest.mark.parametrize("table", ["PHASE_NAMES", "PHASE_SUMMARIES", "PHASE_STEP_NAMES"])
def test_every_phase_has_its_texts(table):
    """Every phase has its name and summary."""
    texts = getattr(protocol, table)
    assert set(texts) == set(protocol.PHASES)
    assert all(texts[phase] for phase in protocol.PHASES)


@pytest.mark.parametrize("table", ["NORMAL_LINES", "DO_LINES", "PREPARE_LINES"])
def test_every_line_says_when_it_applies_and_what_it_rests_on(table):
    """Lines name known phases and areas, and quote the guide or say what else they rest on."""
    for line in getattr(protocol, table):
        assert line.text.strip()
        assert set(line.phases) <= set(protocol.PHASES)
        assert set(line.areas) <= set(protocol.AREAS)
        assert line.basis in protocol.BASES
        assert bool(line.source.strip()) == (line.basis == protocol.GUIDE), line.text


def test_red_flags_and_emergency():
    """Red flags cover every check-in flag; the redness one says "at any time" and "day 3"."""
    flags = " ".join(protocol.RED_FLAGS)
    assert protocol.RED_FLAGS[0] == ("redness or swelling that spreads or gets worse at any "
                                     "time, or is not fading by day 3")
    for words in ("discharge", "fever", "pain", "lumps", "rash", "cold sore",
                  "pale, grey or blotchy"):
        assert words in flags
    assert "two days" not in flags
    assert "emergency" in protocol.EMERGENCY
    assert "throat" in protocol.EMERGENCY


@pytest.mark.parametrize(
    ("window", "words"),
    [(timedelta(hours=48), "2 days"), (timedelta(hours=36), "36 hours"),
     (timedelta(hours=24), "1 day"), (timedelta(hours=1), "1 hour"),
     (timedelta(days=7), "7 days"), (timedelta(days=10), "10 days"),
     (timedelta(days=14), "2 weeks"), (timedelta(days=21), "3 weeks"),
     (timedelta(days=90), "90 days"), (timedelta(minutes=90), "90 minutes")],
)
def test_duration_words_are_exact(window, words):
    """A window is worded in the largest unit that measures it exactly, never rounded."""
    assert protocol.duration_words(window) == words


def test_duration_words_are_translated_by_babel():
    assert protocol.duration_words(timedelta(hours=48), "it") == "2 giorni"
    assert protocol.duration_words(timedelta(hours=24), "it") == "1 giorno"


def test_with_overrides_replaces_only_the_given_windows():
    """Overrides are in hours; other windows and the default protocol stay as they were."""
    clinic = DEFAULT_PROTOCOL.with_overrides({"heat": 336, "exfoliants": 0})
    assert clinic.windows["heat"] == timedelta(days=14)
    assert clinic.windows["exfoliants"] == timedelta(0)
    assert clinic.windows["sun"] == timedelta(hours=48)
    assert clinic.windows["tanning_beds"] == timedelta(days=7)
    assert DEFAULT_PROTOCOL.windows["heat"] == timedelta(hours=48)
    assert Protocol().windows["exfoliants"] == timedelta(days=7)
    assert DEFAULT_PROTOCOL.with_overrides({}) == DEFAULT_PROTOCOL


def test_windows_are_read_only():
    """A protocol's windows cannot be changed in place."""
    with pytest.raises(TypeError):
        DEFAULT_PROTOCOL.windows["heat"] = timedelta(0)  # type: ignore[index]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"sauna": 48}, "unknown restriction 'sauna'"),
        ({"heat": -1}, "heat: must be between 0 and 2160 hours"),
        ({"sun": 2161}, "sun: must be between 0 and 2160 hours"),
        ({"vitamin_a": 1.5}, "vitamin_a: hours must be a whole number"),
        ({"vitamin_a": 48.0}, "vitamin_a: hours must be a whole number"),
        ({"makeup": "48"}, "makeup: hours must be a whole number"),
        ({"makeup": True}, "makeup: hours must be a whole number"),
        ({"exfoliants": None}, "exfoliants: hours must be a whole number"),
        ({"heat": 72, "tanning_beds": -24}, "tanning_beds: must be between"),
    ],
)
def test_validate_overrides_rejects(overrides, message):
    """Unknown keys, negatives, more than 90 days and non-integers are refused, by name."""
    with pytest.raises(ValueError, match=message):
        validate_overrides(overrides)
    with pytest.raises(ValueError, match=message):
        DEFAULT_PROTOCOL.with_overrides(overrides)


def test_validate_overrides_accepts_the_bounds():
    """Zero and exactly 90 days are allowed."""
    assert validate_overrides({"heat": 0, "acids_peels": 2160}) == {
        "heat": timedelta(0),
        "acids_peels": timedelta(days=90),
    }


def avoided(plan):
    return {a["key"]: a["until"] for a in plan.to_json()["avoid"]}


def allowed(plan):
    return {a["key"]: a["since"] for a in plan.to_json()["allowed_again"]}


def test_override_changes_plan_day_windows():
    """A clinic's sauna window of 72 h keeps heat avoided after 48 h, until exactly 72 h."""
    clinic = DEFAULT_PROTOCOL.with_overrides({"heat": 72})
    at = SESSION + timedelta(hours=48, minutes=1)
    plan = plan_day(COURSE, [SESSION], at, clinic)
    assert avoided(plan)["heat"] == "2026-11-23T10:00:00+01:00"
    assert "heat" not in allowed(plan)
    assert allowed(plan)["sun"] == "2026-11-22T10:00:00+01:00"
    later = plan_day(COURSE, [SESSION], SESSION + timedelta(hours=72), clinic)
    assert allowed(later)["heat"] == "2026-11-23T10:00:00+01:00"
    assert "heat" not in avoided(later)


def test_override_changes_tanning_beds_window():
    """A 10-day tanning-bed window reaches 8 days before the next session."""
    clinic = DEFAULT_PROTOCOL.with_overrides({"tanning_beds": 240})
    eight_days_before = datetime(2026, 12, 3, 10, 0, tzinfo=ROME)
    assert "tanning_beds" not in avoided(plan_day(COURSE, [SESSION], eight_days_before))
    plan = plan_day(COURSE, [SESSION], eight_days_before, clinic)
    assert avoided(plan)["tanning_beds"] == "2026-12-11T10:00:00+01:00"


def test_zero_window_is_never_avoided():
    """A window set to zero is allowed again from the session's start."""
    clinic = DEFAULT_PROTOCOL.with_overrides({"makeup": 0})
    plan = plan_day(COURSE, [SESSION], SESSION, clinic)
    assert "makeup" not in avoided(plan)
    assert allowed(plan) == {"makeup": "2026-11-20T10:00:00+01:00"}
