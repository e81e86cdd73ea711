"""The Danish civil registration number (CPR), kept so that it cannot end up in a log.

A :class:`Cpr` masks itself in ``str``/``repr``/f-strings; the digits are only reachable
through :meth:`Cpr.reveal`, which a reviewer can grep for.
"""

from __future__ import annotations

import re

_CPR = re.compile(r"^(\d{6})-?(\d{4})$")
_WEIGHTS = (4, 3, 2, 7, 6, 5, 4, 3, 2, 1)


class InvalidCpr(ValueError):
    pass


class Cpr:
    __slots__ = ("_digits",)

    def __init__(self, text: str) -> None:
        match = _CPR.match(text.strip())
        if match is None:
            raise InvalidCpr("a CPR number has ten digits (DDMMYY-SSSS)")
        self._digits = match.group(1) + match.group(2)

    def reveal(self) -> str:
        """The ten digits. Only for storage, display to authorised staff, and FHIR export."""
        return self._digits

    @property
    def formatted(self) -> str:
        return f"{self._digits[:6]}-{self._digits[6:]}"

    @property
    def passes_modulus_11(self) -> bool:
        """True for numbers that pass the old modulus-11 check; demo numbers must not."""
        return sum(int(d) * w for d, w in zip(self._digits, _WEIGHTS, strict=True)) % 11 == 0

    def __repr__(self) -> str:
        return "Cpr(******-****)"

    def __str__(self) -> str:
        return "******-****"

    def __format__(self, spec: str) -> str:
        return str(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Cpr) and other._digits == self._digits

    def __hash__(self) -> int:
        return hash(self._digits)
