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
}


def test_restriction_keys_match_design():
    """Exactly the public restriction keys of DESIGN.md §3 exist."""
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
    """Every rule names what it rests on in the guide, and has patient texts."""
    rule = RESTRICTIONS[key]
    for text in (rule.source, rule.name, rule.ok_name, rule.why):
        assert isinstance(text, str)
        assert text.strip()


def test_phase_durations():
    """Immediate is 48 h, first weeks and sunscreen run to 28 days; phases are in order."""
    assert protocol.PHASES == ("preparation", "immediate", "first_weeks", "cumulative")
    assert DEFAULT_PROTOCOL.immediate == timedelta(hours=48)
    assert DEFAULT_PROTOCOL.first_weeks == timedelta(days=28)
    assert DEFAULT_PROTOCOL.sunscreen == timedelta(days=28)
    assert DEFAULT_PROTOCOL.prepare_notice == timedelta(days=7)


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


@pytest.mark.parametrize(
    "table", ["PHASE_NAMES", "PHASE_SUMMARIES", "NORMAL", "DO_TODAY"]
)
def test_every_phase_has_its_texts(table):
    """Every phase has its name, summary, normal lines and things to do."""
    texts = getattr(protocol, table)
    assert set(texts) == set(protocol.PHASES)
    assert all(texts[phase] for phase in protocol.PHASES)


def test_preparation_and_red_flags():
    """Pre-session items, red flags and the emergency line are present."""
    assert len(protocol.PREPARE) == 4
    assert any("isotretinoin" in item for item in protocol.PREPARE)
    assert any("cold sore" in item for item in protocol.PREPARE)
    assert any("tanning" in item.lower() for item in protocol.PREPARE)
    assert len(protocol.RED_FLAGS) == 6
    assert "emergency" in protocol.EMERGENCY


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
