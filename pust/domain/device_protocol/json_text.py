"""Decoding a payload's JSON strictly: UTF-8 only, no NaN/Infinity, no duplicate keys, and no
text that the database cannot store (NUL, unpaired surrogates) anywhere in the document.

``json`` keeps the last of two equal keys silently; here each object remembers the keys it
saw twice, so the validator can name their paths (``schema_violation``) instead of
accepting whichever came last.
"""

from __future__ import annotations

import json
from typing import NoReturn

from pust.domain.device_protocol.fields import Problems, join, storable


class JsonObject(dict[str, object]):
    """A decoded JSON object that remembers its repeated keys (the first value is kept)."""

    __slots__ = ("repeated",)

    def __init__(self, pairs: list[tuple[str, object]]) -> None:
        super().__init__()
        self.repeated: list[str] = []
        for key, value in pairs:
            if key in self:
                self.repeated.append(key)
            else:
                self[key] = value


def _refuse_constant(_name: str) -> NoReturn:
    raise ValueError("NaN and Infinity are not JSON")


class _RepeatedKey(Exception):
    """An object with a key twice: decode again, remembering which."""


def _plain_object(pairs: list[tuple[str, object]]) -> dict[str, object]:
    document = dict(pairs)
    if len(document) != len(pairs):
        raise _RepeatedKey
    return document


# built once: json.loads with arguments builds a decoder (and its scanner) on every call.
# The scanner keeps no state between calls, so one decoder serves every thread (as
# json.loads's own default decoder does).
_FAST = json.JSONDecoder(parse_constant=_refuse_constant, object_pairs_hook=_plain_object)
_REMEMBERING = json.JSONDecoder(parse_constant=_refuse_constant, object_pairs_hook=JsonObject)


def decode_json(payload: bytes) -> object | None:
    """The document, or None when the payload is not UTF-8 JSON."""
    return decode_document(payload)[0]


def decode_document(payload: bytes) -> tuple[object | None, bool]:
    """The document (None when the payload is not UTF-8 JSON), and whether
    :func:`check_text` can find anything in it.

    Without a ``\\u`` escape in the payload, no string in it (value or key) can hold NUL or
    a surrogate: strict JSON refuses raw control characters and strict UTF-8 refuses
    encoded surrogates. Repeated keys make the decoder start again with objects that
    remember them.
    """
    try:
        text = payload.decode("utf-8")
        try:
            return _FAST.decode(text), b"\\u" in payload
        except _RepeatedKey:
            return _REMEMBERING.decode(text), True
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None, False


def not_utf8_reason(payload: bytes) -> str:
    """Why a payload is not UTF-8 JSON, naming the encoding it seems to be in."""
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        encoding = json.detect_encoding(payload)
        if encoding != "utf-8":
            return f"payload is not UTF-8 JSON (it looks like {encoding.upper()})"
        return "payload is not UTF-8 JSON (invalid UTF-8 bytes)"
    return "payload is not UTF-8 JSON"


def check_text(value: object, problems: Problems, path: str = "") -> None:
    """Record repeated keys and unstorable text anywhere in ``value`` (iteratively: a
    deeply nested document must not exhaust the stack)."""
    pending: list[tuple[object, str]] = [(value, path)]
    while pending:
        item, where = pending.pop()
        if isinstance(item, str):
            if not storable(item):
                problems.schema(
                    where, "contains NUL or an unpaired surrogate, which cannot be stored"
                )
        elif isinstance(item, dict):
            for key in getattr(item, "repeated", ()):
                problems.schema(join(where, key), "the key occurs more than once")
            for key, child in item.items():
                if not storable(key):
                    problems.schema(join(where, key), "key contains NUL or an unpaired surrogate")
                pending.append((child, join(where, key)))
        elif isinstance(item, list):
            pending.extend((child, f"{where}[{index}]") for index, child in enumerate(item))
