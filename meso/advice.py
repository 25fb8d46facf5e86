"""The answer to a check-in: is this normal on day N? Pure: no Flask, no database.

``advise`` applies protocol.ADVICE_RULES (checkin_rules.py) to one check-in: every rule whose
conditions hold speaks, and the most serious of them is the advice. Since every rule above
"expected" only asks "this bad or worse", a worse answer (a sign rated higher, a red flag
ticked, a worse trend or feeling) can never get a milder advice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from meso.checkin_rules import (
    ADVICE_LEVELS,
    ADVICE_RULES,
    CHECKIN_FEELINGS,
    CHECKIN_FLAGS,
    CHECKIN_SIGNS,
    CHECKIN_TRENDS,
    NOTHING_UNUSUAL,
    SIGN_LEVELS,
    AdviceRule,
)
from meso.protocol_base import AREAS, in_days

LEVEL = {name: rank for rank, name in enumerate(SIGN_LEVELS)}
TREND = {name: rank for rank, name in enumerate(CHECKIN_TRENDS)}
SEVERITY = {name: rank for rank, name in enumerate(ADVICE_LEVELS)}


@dataclass(frozen=True)
class CheckInAnswers:
    """One check-in's answers, validated; signs not given are "none"."""

    area: str
    day: int  # local days since the latest session; negative before the first
    feeling: int
    signs: Mapping[str, str]
    trend: str | None
    symptoms: frozenset[str]


@dataclass(frozen=True)
class Advice:
    """The answer: its level, and the rules that spoke, the most serious first."""

    advice: str
    reasons: tuple[AdviceRule, ...]

    @property
    def texts(self) -> tuple[str, ...]:
        return tuple(rule.reason for rule in self.reasons)


def advise(area: str, day: int, feeling: int, signs: Mapping[str, str] | None = None,
           trend: str | None = None, symptoms: Iterable[str] = ()) -> Advice:
    """Return the advice for a check-in; raise ValueError on an answer that is not offered."""
    answers = answers_of(area, day, feeling, signs or {}, trend, symptoms)
    spoke = [rule for rule in ADVICE_RULES if matches(rule, answers)] or [NOTHING_UNUSUAL]
    spoke.sort(key=lambda rule: -SEVERITY[rule.advice])  # stable: table order within a level
    return Advice(spoke[0].advice, tuple(spoke))


def answers_of(area, day, feeling, signs, trend, symptoms) -> CheckInAnswers:
    """Validate the answers, naming the first one that is not offered."""
    symptoms = frozenset(symptoms)
    if area not in AREAS:
        raise ValueError(f"unknown area {area!r}")
    if isinstance(day, bool) or not isinstance(day, int):
        raise ValueError("day must be a whole number")
    if isinstance(feeling, bool) or feeling not in CHECKIN_FEELINGS:
        raise ValueError("feeling must be a whole number from 1 to 5")
    for key, level in signs.items():
        if key not in CHECKIN_SIGNS:
            raise ValueError(f"unknown sign {key!r}")
        if level not in SIGN_LEVELS:
            raise ValueError(f"{key}: choose one of {', '.join(SIGN_LEVELS)}")
    if trend is not None and trend not in CHECKIN_TRENDS:
        raise ValueError(f"trend: choose one of {', '.join(CHECKIN_TRENDS)}")
    unknown = sorted(symptoms - set(CHECKIN_FLAGS))
    if unknown:
        raise ValueError(f"unknown red flag {unknown[0]!r}")
    full = {key: signs.get(key, "none") for key in CHECKIN_SIGNS}
    return CheckInAnswers(area, day, feeling, full, trend, symptoms)


def matches(rule: AdviceRule, answers: CheckInAnswers) -> bool:
    """Return whether every condition of the rule holds for these answers."""
    if rule.areas and answers.area not in rule.areas:
        return False
    if not in_days(answers.day, rule.days):
        return False
    if rule.signs and not any(
        LEVEL[rule.at_least] <= LEVEL[answers.signs[key]] <= LEVEL[rule.at_most]
        for key in rule.signs
    ):
        return False
    if rule.trend is not None and (
        answers.trend is None or TREND[answers.trend] < TREND[rule.trend]
    ):
        return False
    if rule.feeling_at_most is not None and answers.feeling > rule.feeling_at_most:
        return False
    return not rule.symptoms or bool(rule.symptoms & answers.symptoms)
