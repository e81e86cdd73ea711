"""The queue's words: why an alert is in the queue, in clinical Danish (never a rule key),
and which actions fit which kind of alert."""

from __future__ import annotations

from pust.domain.alert_lifecycle import Outcome
from pust.domain.measurement_types import spec_for
from pust.domain.severity import AlertKind
from services.api.web.i18n import translator
from services.api.web.render import plain_number, reason_text
from services.api.worklist.queue import QueueAlert

OUTCOMES = [o.value for o in Outcome if o is not Outcome.AUTO_RESOLVED]

# "the nurses have seen your measurements" fits a reading or an answer, not a missed
# measurement or a quiet tablet
NOTIFIABLE_KINDS = frozenset({AlertKind.READING.value})


def queue_reason_text(language: str, alert: QueueAlert) -> str:
    """The latest reason, and the reading that made it reach its present severity when that
    was another value ("SpO2 89 % < gul grænse 90 % (rød ved 87 %)")."""
    text = reason_text(language, alert.reasons, alert.rule_key, alert.last_value, alert.severity)
    if (
        alert.reached_value is None
        or alert.reached_type is None
        or alert.reached_value == alert.last_value
    ):
        return text
    t = translator(language)
    spec = spec_for(alert.reached_type)
    unit = spec.unit if spec is not None else ""
    value = f"{plain_number(language, alert.reached_value)} {unit}".strip()
    return f"{text} ({t('became_' + alert.severity)} {value})"
