"""Pre-classification for the triage queue: which untriaged readings and answers are likely
to need a nurse, so the alerts worker claims them before a backlog of green ones.

Cheap and conservative on purpose. It is not triage (:mod:`pust.domain.triage` still judges
every row in full); it only orders the queue:

- a reading is *abnormal* when any of the citizen's absolute limits for its type
  (:class:`pust.domain.measurement_rules.AbsoluteLimit`) says yellow or red — the rule's own
  judgement is used, so the limits are never re-implemented here;
- a questionnaire response is abnormal when any answer is "yes" (``True``).

Baseline-relative, change and combination rules need baselines or history: too dear for a
pre-pass, so they are left to triage proper (such a reading is simply claimed in turn).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pust.domain.limits import AbsoluteLimit, RuleSet
from pust.domain.rule_kind import Evidence, ReadingFacts
from pust.domain.severity import Severity

_NO_EVIDENCE = Evidence()
_ANY_TIME = datetime(2000, 1, 1, tzinfo=UTC)  # absolute limits do not depend on the time


class AbnormalScreen:
    """A rule set's absolute limits by measurement type, for pre-classifying many readings
    (built once per rule set; the rules judge, this only finds the ones that apply)."""

    __slots__ = ("_limits",)

    def __init__(self, rules: RuleSet) -> None:
        limits: dict[str, list[AbsoluteLimit]] = {}
        for rule in rules.of_kind(AbsoluteLimit):
            limits.setdefault(rule.type.value, []).append(rule)
        self._limits = {type_: tuple(found) for type_, found in limits.items()}

    def reading(self, type_: str, value: float) -> bool:
        """Any absolute limit for ``type_`` breached (yellow or red)."""
        return self.severity(type_, value) is not Severity.GREEN

    def severity(self, type_: str, value: float) -> Severity:
        """The worst of the absolute limits for ``type_`` (green when there are none), so
        that a red reading can be put ahead of the yellow ones."""
        limits = self._limits.get(type_)
        if not limits:
            return Severity.GREEN
        facts = ReadingFacts(type=type_, value=value, measured_at=_ANY_TIME)
        return Severity.worst(
            *(rule.evaluate_reading(facts, _NO_EVIDENCE).severity for rule in limits)
        )


def reading_is_abnormal(rules: RuleSet, type_: str, value: float) -> bool:
    """Any absolute limit of ``rules`` for ``type_`` breached (yellow or red)."""
    return AbnormalScreen(rules).reading(type_, value)


def response_is_abnormal(answers: Iterable[tuple[str, Any]]) -> bool:
    """Any item answered "yes"."""
    return any(value is True for _, value in answers)
