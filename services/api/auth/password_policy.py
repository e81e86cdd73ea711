"""What a staff password must be (pure): long, not the username, not a common word with
digits around it. Used where a password is chosen by hand (``pust admin create``)."""

from __future__ import annotations

import re

MIN_LENGTH = 12
MAX_LENGTH = 1024

# common bases of guessed passwords (Danish and English); a password that is one of these
# once its digits and punctuation are dropped is refused ("Sommer2026!" is "sommer")
_COMMON = frozenset(
    {
        "password", "passw", "adgangskode", "kodeord", "kode", "hemmelig", "qwerty",
        "qwertyuiop", "asdfgh", "letmein", "welcome", "velkommen", "sommer", "vinter",
        "foraar", "forår", "efteraar", "efterår", "januar", "februar", "marts", "april",
        "maj", "juni", "juli", "august", "september", "oktober", "november", "december",
        "admin", "administrator", "pust", "sygeplejerske", "kommune", "danmark", "test",
        "demo", "changeme", "secret", "monkey", "dragon", "iloveyou",
    }
)  # fmt: skip


def password_problems(password: str, *, username: str) -> list[str]:
    """Why this password is refused, in words; empty when it is acceptable."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"it must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        problems.append(f"it may have at most {MAX_LENGTH} characters")
    lowered = password.lower()
    if username and username.lower() in lowered:
        problems.append("it must not contain the username")
    if len(set(lowered)) < 5:
        problems.append("it must have at least 5 different characters")
    base = re.sub(r"[\W\d_]+", "", lowered)
    if base in _COMMON or not base:
        problems.append("it is too easy to guess (a common word, or digits only)")
    return problems
