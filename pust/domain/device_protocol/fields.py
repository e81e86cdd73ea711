"""Reading typed fields out of decoded JSON, collecting every problem with its path.

Each reader returns the value or ``None`` and records a :class:`ProtocolError` when the
field is missing or malformed, so one pass reports everything that is wrong with a message.
"""

from __future__ import annotations

import functools
import math
import re
from datetime import UTC, datetime
from typing import Any

from pust.domain.device_protocol.errors import ErrorCode, ProtocolError

UUID_PATTERN = re.compile(
    r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
)
# a receipt with hundreds of reasons helps nobody and bloats the quarantine
MAX_ERRORS = 50
_SHOWN_TEXT = 40
# what no database column (PostgreSQL text refuses NUL) and no UTF-8 encoder can take
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# a message id that is not a UUID is still echoed in the receipt, up to this length
MAX_ECHOED_ID = 200


def storable(text: str) -> bool:
    """Whether the database can store ``text`` and UTF-8 can encode it."""
    return _UNSTORABLE.search(text) is None


def safe_text(text: str) -> str:
    """``text`` with each NUL and unpaired surrogate written as its escape (``\\x00``)."""
    if storable(text):
        return text
    return _UNSTORABLE.sub(lambda match: repr(match.group())[1:-1], text)


def echoable_id(value: object) -> str | None:
    """A message id as the tablet sent it, when it can go back in a receipt (any string)."""
    if isinstance(value, str) and 0 < len(value) <= MAX_ECHOED_ID and storable(value):
        return value
    return None


def shown(text: str) -> str:
    """A piece of untrusted input, shortened for an error message (never a value)."""
    return repr(text[:_SHOWN_TEXT] + ("…" if len(text) > _SHOWN_TEXT else ""))


class Problems:
    def __init__(self) -> None:
        self.errors: list[ProtocolError] = []

    def add(self, path: str, code: ErrorCode, message: str) -> None:
        # a path names the tablet's own keys: never let one carry text no receipt can encode
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(ProtocolError(safe_text(path), code, safe_text(message)))

    def schema(self, path: str, message: str) -> None:
        self.add(path, ErrorCode.SCHEMA_VIOLATION, message)

    def __bool__(self) -> bool:
        return bool(self.errors)

    def unknown_keys(self, document: dict[str, Any], allowed: frozenset[str], path: str) -> None:
        for key in document:
            if key not in allowed:
                self.schema(join(path, key), f"unknown field {shown(key)}")

    def required(self, document: dict[str, Any], key: str, path: str) -> Any:
        if key not in document or document[key] is None:
            self.schema(join(path, key), "required field is missing")
            return None
        return document[key]

    def string(
        self, document: dict[str, Any], key: str, path: str, *, max_length: int, required: bool
    ) -> str | None:
        if key not in document or document[key] is None:
            if required:
                self.schema(join(path, key), "required field is missing")
            return None
        value = document[key]
        if not isinstance(value, str) or not value.strip():
            self.schema(join(path, key), "must be a non-empty string")
            return None
        if len(value) > max_length:
            self.schema(join(path, key), f"must be at most {max_length} characters")
            return None
        return value

    def message_id(self, document: dict[str, Any]) -> str | None:
        value = self.required(document, "message_id", "")
        if value is None:
            return None
        if not isinstance(value, str) or not UUID_PATTERN.match(value):
            self.schema("message_id", "must be a UUID")
            return None
        return value

    def timestamp(self, document: dict[str, Any], key: str, path: str) -> datetime | None:
        value = self.required(document, key, path)
        if value is None:
            return None
        parsed = parse_timestamp(value)
        if parsed is None:
            self.schema(join(path, key), "must be an ISO 8601 date-time with a UTC offset")
        return parsed

    def number(self, document: dict[str, Any], key: str, path: str) -> float | None:
        value = self.required(document, key, path)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.schema(join(path, key), "must be a number")
            return None
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            self.schema(join(path, key), "must be a finite number")
            return None
        return number

    def integer(
        self, document: dict[str, Any], key: str, path: str, *, minimum: int, maximum: int
    ) -> int | None:
        if key not in document or document[key] is None:
            return None
        value = document[key]
        if isinstance(value, bool) or not isinstance(value, int):
            self.schema(join(path, key), "must be an integer")
            return None
        if not minimum <= value <= maximum:
            self.add(
                join(path, key),
                ErrorCode.IMPLAUSIBLE_VALUE,
                f"must be between {minimum} and {maximum}",
            )
            return None
        return value

    def boolean(self, document: dict[str, Any], key: str, path: str) -> bool | None:
        if key not in document or document[key] is None:
            return None
        value = document[key]
        if not isinstance(value, bool):
            self.schema(join(path, key), "must be true or false")
            return None
        return value


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def parse_timestamp(value: object) -> datetime | None:
    """An ISO 8601 date-time with an offset, in UTC; None when it is anything else."""
    if not isinstance(value, str) or len(value) > 40 or ("T" not in value and "t" not in value):
        return None
    return _parse_iso(value)


# the observations of one message share their measured_at, and a batch its sent_at
@functools.lru_cache(maxsize=1024)
def _parse_iso(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            return None
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
