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

from pust.domain.abnormal_first import AbnormalScreen, response_is_abnormal
from pust.domain.device_protocol import (
    MeasurementSubmission,
    QuestionnaireSubmission,
    ValidationResult,
)
from pust.domain.limits import default_rule_set
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
