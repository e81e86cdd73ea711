"""A rejected device message as an administrator may see it: its structure and the reasons
it was refused, with health values and identities masked (an administrator runs the system,
not the care; the values stay in the database for a clinician's or auditor's eyes)."""

from __future__ import annotations

import json
from typing import Any

MASK = "•••"
# keys whose values are health data or identify a person
SENSITIVE = frozenset(
    {"value", "values", "original_value", "answers", "answer", "cpr", "name", "note", "text"}
)
MAX_SHOWN = 4000


def _mask(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: (MASK if k in SENSITIVE else _mask(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_mask(v) for v in node]
    return node


def redacted(payload_text: str | None) -> str:
    """The payload with health values masked; a payload that is not JSON shows only its
    non-digit characters (a number in it could be a value)."""
    if payload_text is None:
        return ""
    try:
        document = json.loads(payload_text)
    except ValueError:
        masked = "".join("•" if c.isdigit() else c for c in payload_text)
        return masked[:MAX_SHOWN]
    return json.dumps(_mask(document), ensure_ascii=False, indent=1)[:MAX_SHOWN]
