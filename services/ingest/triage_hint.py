"""Which arrivals look abnormal, so the writer commits them ahead of a green backlog.

Only an ordering hint, taken on arrival from the validated message (canonical units): red
for a measurement with any value beyond an absolute red limit of the starting rule set
(:func:`pust.domain.limits.default_rule_set`, via :class:`pust.domain.abnormal_first.
AbnormalScreen`), yellow for one beyond a yellow limit or a questionnaire with any "yes",
green otherwise (red ones go ahead of yellow ones: a backlog holds many yellow readings of
citizens who live near the SpO2 limit). Ingest does not know the citizen's own
rule set (that needs the database); a citizen with personal limits is judged by triage in
full as always. A wrong hint only changes the order of commits, never what is stored.
"""

from __future__ import annotations

import json
from typing import Any

from pust.domain.abnormal_first import AbnormalScreen, response_is_abnormal
from pust.domain.device_protocol import (
    MeasurementSubmission,
    QuestionnaireSubmission,
    ValidationResult,
)
from pust.domain.limits import default_rule_set
from pust.domain.measurement_types import spec_for
from pust.domain.severity import Severity


class TriageHint:
    __slots__ = ("_screen",)

    def __init__(self) -> None:
        self._screen = AbnormalScreen(default_rule_set())

    def severity(self, result: ValidationResult) -> Severity:
        if isinstance(result, MeasurementSubmission):
            return Severity.worst(
                *(
                    self._screen.severity(observation.type.value, observation.value)
                    for observation in result.observations
                )
            )
        if isinstance(result, QuestionnaireSubmission):
            answers = ((answer.item, answer.value) for answer in result.answers)
            return Severity.YELLOW if response_is_abnormal(answers) else Severity.GREEN
        return Severity.GREEN

    def severity_of_payload(self, channel: str, payload: bytes) -> Severity:
        """The same hint from the raw payload, before validation (during a drain ingest
        validates in the writer): only well-formed values in an accepted unit count."""
        if channel not in ("measurements", "questionnaire-responses"):
            return Severity.GREEN
        try:
            document = json.loads(payload)
        except ValueError:
            return Severity.GREEN
        if not isinstance(document, dict):
            return Severity.GREEN
        if channel == "questionnaire-responses":
            answers = document.get("answers")
            if isinstance(answers, list) and any(
                isinstance(answer, dict) and answer.get("value") is True for answer in answers
            ):
                return Severity.YELLOW
            return Severity.GREEN
        observations = document.get("observations")
        if not isinstance(observations, list):
            return Severity.GREEN
        return Severity.worst(*(self._observation(o) for o in observations))

    def _observation(self, observation: Any) -> Severity:
        if not isinstance(observation, dict):
            return Severity.GREEN
        type_, value, unit = (observation.get(k) for k in ("type", "value", "unit"))
        if not isinstance(type_, str) or not isinstance(unit, str):
            return Severity.GREEN
        if not isinstance(value, int | float) or isinstance(value, bool):
            return Severity.GREEN
        spec = spec_for(type_)
        canonical = spec.to_canonical(float(value), unit) if spec is not None else None
        if canonical is None:
            return Severity.GREEN
        return self._screen.severity(type_, canonical)
