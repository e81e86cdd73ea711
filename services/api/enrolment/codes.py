"""Pairing codes: short enough to type on an iPad, random enough for a few minutes.

Eight characters from a 31-letter alphabet without look-alikes (no 0/O, 1/I/L): 31⁸ ≈ 8.5·10¹¹
codes, with the pair endpoint rate-limited and every code valid for minutes and once. Only
a SHA-256 of the normalised code is stored (a fast hash is enough for a random secret of
that size that dies in minutes)."""

from __future__ import annotations

import hashlib
import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 8


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def normalise(code: str) -> str:
    return "".join(c for c in code.upper() if c.isalnum())


def code_hash(code: str) -> str:
    return hashlib.sha256(normalise(code).encode()).hexdigest()
