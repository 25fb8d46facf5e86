"""The check-in's answer, "is this normal on day N?" (meso/advice.py, issue #10 point 5)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meso import protocol
from meso.advice import SEVERITY, advise

E, W, C, X = "expected", "watch", "call_clinic", "emergency"
DAYS = (0, 1, 2, 3, 5, 10, 30)


def by_day(*levels):
    """Expected advice on DAYS, in order."""
    return dict(zip(DAYS, levels, strict=True))


# (what, feeling, signs, trend, red flags, advice on days 0, 1, 2, 3, 5, 10, 30)
TABLE = [
    ("all clear", 5, {}, "better", (), by_day(E, E, E, E, E, E, E)),
    ("mild redness", 4, {"redness": "mild"}, "better", (), by_day(E, E, E, E, W, W, W)),
    ("moderate swelling", 3, {"swelling": "moderate"}, "same", (),
     by_day(E, E, E, W, C, C, C)),
    ("strong redness", 3, {"redness": "strong"}, "same", (), by_day(W, W, W, C, C, C, C)),
    ("mild swelling getting worse", 3, {"swelling": "mild"}, "worse", (),
     by_day(E, E, C, C, C, C, C)),
    ("tender and worse", 3, {"tenderness": "mild"}, "worse", (), by_day(E, E, W, W, W, W, W)),
    ("moderate tenderness", 3, {"tenderness": "moderate"}, "better", (),
     by_day(E, E, E, W, W, W, W)),
    ("strong tenderness", 3, {"tenderness": "strong"}, "same", (),
     by_day(W, W, W, C, C, C, C)),
    ("a bad day", 1, {}, "same", (), by_day(E, E, E, W, W, W, W)),
    ("not good, but better", 2, {}, "better", (), by_day(E, E, E, W, W, W, W)),
    ("small bumps", 4, {"bumps": "mild"}, "same", (), by_day(E, W, W, W, W, W, W)),
    ("bumps", 4, {"bumps": "moderate"}, "same", (), by_day(E, W, W, W, W, C, C)),
    ("big bumps", 4, {"bumps": "strong"}, "same", (), by_day(W, W, W, W, W, C, C)),
    ("a bruise", 4, {"bruising": "moderate"}, "better", (), by_day(E, E, E, E, E, E, W)),
    ("a large bruise", 4, {"bruising": "strong"}, "same", (), by_day(W, W, W, W, W, W, W)),
    ("fever", 4, {}, "better", ("fever",), by_day(C, C, C, C, C, C, C)),
    ("pus", 3, {"redness": "mild"}, "same", ("discharge",), by_day(C, C, C, C, C, C, C)),
    ("a cold sore", 5, {}, "better", ("cold_sore",), by_day(C, C, C, C, C, C, C)),
    ("skin turning grey", 5, {}, "same", ("colour_change",), by_day(C, C, C, C, C, C, C)),
    ("spreading redness", 4, {"redness": "mild"}, "same", ("worse",),
     by_day(C, C, C, C, C, C, C)),
    ("swollen throat", 5, {}, "better", ("breathing",), by_day(X, X, X, X, X, X, X)),
    ("everything at once", 1, dict.fromkeys(protocol.CHECKIN_SIGNS, "strong"), "worse",
     tuple(protocol.CHECKIN_FLAGS), by_day(X, X, X, X, X, X, X)),
    ("day 3, swelling worse, fever", 2, {"swelling": "moderate"}, "worse", ("fever",),
     by_day(C, C, C, C, C, C, C)),
]


@pytest.mark.parametrize("area", protocol.AREAS)
@pytest.mark.parametrize(("what", "feeling", "signs", "trend", "flags", "expected"),
                         TABLE, ids=[row[0] for row in TABLE])
def test_advice_by_area_and_day(area, what, feeling, signs, trend, flags, expected):
    for day, advice in expected.items():
        answer = advise(area, day, feeling, signs, trend, flags)
        assert answer.advice == advice, (day, [r.key for r in answer.reasons])
        assert answer.reasons, "every answer says why"
        assert answer.reasons[0].advice == advice
        ranks = [SEVERITY[r.advice] for r in answer.reasons]
        assert ranks == sorted(ranks, reverse=True)


def test_the_issue_s_patient_is_told_to_call_the_clinic_today():
    """Day 3, swelling getting worse, a fever: call the clinic today, and why."""
    answer = advise("face", 3, 2, {"swelling": "moderate"}, "worse", {"fever"})
    assert answer.advice == "call_clinic"
    keys = [r.key for r in answer.reasons]
    assert keys[:2] == ["red_flag", "worse_redness"]
    assert "checked by your clinic" in answer.texts[1]


def test_a_bad_day_on_day_10_is_not_called_normal_for_the_first_days():
    answer = advise("face", 10, 1, {}, "same", ())
    assert answer.advice == "watch"
    assert not any("first day" in text for text in answer.texts)


@pytest.mark.parametrize(
    ("signs", "advice"),
    [({}, E), ({"redness": "mild"}, W), ({"swelling": "moderate"}, C),
     ({"bruising": "strong"}, C)],
)
def test_before_the_first_session_inflamed_skin_means_telling_the_clinic(signs, advice):
    answer = advise("scalp", -2, 4, signs, None, ())
    assert answer.advice == advice
    if advice != E:
        assert "session may need to move" in answer.texts[0] or "session needs to move" in (
            answer.texts[0])


def test_nothing_to_say_is_still_an_answer():
    answer = advise("body", 1, 5)
    assert answer.advice == "expected"
    assert [r.key for r in answer.reasons] == ["nothing_unusual"]


@pytest.mark.parametrize(
    ("args", "message"),
    [(("neck", 1, 3), "unknown area 'neck'"),
     (("face", 1.5, 3), "day must be a whole number"),
     (("face", True, 3), "day must be a whole number"),
     (("face", 1, 0), "feeling must be"),
     (("face", 1, 6), "feeling must be"),
     (("face", 1, True), "feeling must be"),
     (("face", 1, 3, {"itching": "mild"}), "unknown sign 'itching'"),
     (("face", 1, 3, {"redness": "severe"}), "redness: choose one of none, mild"),
     (("face", 1, 3, {}, "much worse"), "trend: choose one of better, same, worse"),
     (("face", 1, 3, {}, "same", {"headache"}), "unknown red flag 'headache'")],
)
def test_answers_that_are_not_offered_are_refused(args, message):
    with pytest.raises(ValueError, match=message):
        advise(*args)


# -- the rules as data ----------------------------------------------------------------------------


def test_every_rule_has_its_reason_and_source():
    keys = [rule.key for rule in protocol.ADVICE_RULES]
    assert len(keys) == len(set(keys))
    for rule in (*protocol.ADVICE_RULES, protocol.NOTHING_UNUSUAL):
        assert rule.advice in protocol.ADVICE_LEVELS
        assert rule.reason.strip()
        assert rule.basis in (protocol.GUIDE, protocol.CLINICAL_CAUTION)
        assert bool(rule.source.strip()) == (rule.basis == protocol.GUIDE), rule.key
        assert set(rule.signs) <= set(protocol.CHECKIN_SIGNS)
        assert {rule.at_least, rule.at_most} <= set(protocol.SIGN_LEVELS)
        assert rule.symptoms <= set(protocol.CHECKIN_FLAGS)


def test_rules_above_expected_only_ask_this_bad_or_worse():
    """What keeps the advice monotone: no rule above "expected" caps a sign."""
    for rule in protocol.ADVICE_RULES:
        assert rule.signs or rule.trend or rule.feeling_at_most or rule.symptoms, rule.key
        if rule.advice != "expected":
            assert rule.at_most == "strong", rule.key


def test_the_check_in_offers_the_new_flags_and_the_emergency_keys():
    assert {"cold_sore", "colour_change"} <= set(protocol.CHECKIN_FLAGS)
    assert protocol.CHECKIN_FLAGS["colour_change"] == "Skin turning pale, grey or blotchy"
    assert "throat" in protocol.CHECKIN_FLAGS["breathing"]
    assert set(protocol.CHECKIN_EMERGENCY_FLAGS) == {"breathing"}
    assert list(protocol.CHECKIN_SIGNS) == ["redness", "swelling", "tenderness", "bumps",
                                            "bruising"]
    assert list(protocol.SIGN_LEVELS) == ["none", "mild", "moderate", "strong"]
    assert list(protocol.CHECKIN_TRENDS) == ["better", "same", "worse"]


# -- properties -----------------------------------------------------------------------------------

LEVELS = list(protocol.SIGN_LEVELS)
TRENDS = list(protocol.CHECKIN_TRENDS)
answers = st.fixed_dictionaries({
    "area": st.sampled_from(protocol.AREAS),
    "day": st.integers(-30, 400),
    "feeling": st.integers(1, 5),
    "signs": st.fixed_dictionaries({k: st.sampled_from(LEVELS) for k in protocol.CHECKIN_SIGNS}),
    "trend": st.sampled_from([None, *TRENDS]),
    "symptoms": st.frozensets(st.sampled_from(list(protocol.CHECKIN_FLAGS))),
})


def rank(a) -> int:
    return SEVERITY[advise(**a).advice]


@settings(max_examples=400, deadline=None)
@given(a=answers, flag=st.sampled_from(list(protocol.CHECKIN_FLAGS)))
def test_adding_a_red_flag_never_lowers_the_advice(a, flag):
    worse = {**a, "symptoms": a["symptoms"] | {flag}}
    assert rank(worse) >= rank(a)
    assert rank(worse) >= SEVERITY["call_clinic"]


@settings(max_examples=400, deadline=None)
@given(a=answers, sign=st.sampled_from(list(protocol.CHECKIN_SIGNS)))
def test_worsening_a_sign_never_lowers_the_advice(a, sign):
    level = LEVELS.index(a["signs"][sign])
    for higher in LEVELS[level + 1:]:
        assert rank({**a, "signs": {**a["signs"], sign: higher}}) >= rank(a)


@settings(max_examples=300, deadline=None)
@given(a=answers)
def test_a_worse_trend_or_feeling_never_lowers_the_advice(a):
    worse_trend = TRENDS[TRENDS.index(a["trend"]) + 1:] if a["trend"] else TRENDS
    for trend in worse_trend:
        assert rank({**a, "trend": trend}) >= rank(a)
    for feeling in range(1, a["feeling"]):
        assert rank({**a, "feeling": feeling}) >= rank(a)


@settings(max_examples=300, deadline=None)
@given(a=answers)
def test_the_floors_the_issue_sets(a):
    """Any red flag: at least call_clinic; emergency keys: emergency; a bad day past day 2:
    at least watch."""
    advice = advise(**a).advice
    if a["symptoms"] & protocol.CHECKIN_EMERGENCY_FLAGS:
        assert advice == "emergency"
    elif a["symptoms"]:
        assert advice == "call_clinic"
    if a["feeling"] <= 2 and a["day"] > 2:
        assert SEVERITY[advice] >= SEVERITY["watch"]
