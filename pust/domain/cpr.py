"""The Danish civil registration number (CPR), kept so that it cannot end up in a log.

A :class:`Cpr` masks itself in ``str``/``repr``/f-strings; the digits are only reachable
through :meth:`Cpr.reveal`, which a reviewer can grep for.

What makes a number valid follows the CPR office (CPR-kontoret, "Personnummeret i
CPR-systemet", and cpr.dk "Opbygning af CPR-nummeret" / "Personnumre uden kontrolciffer"):

* Positions 1-6 are the birth date DDMMYY; positions 5-7 give the century (the table in
  :func:`_century`). A date that does not exist (day 32, 30 February, 29 February of a
  year that is not a leap year in *that* century) is not a CPR number: refused.
* Until 1 October 2007 every number passed the modulus-11 check (weights 4 3 2 7 6 5 4 3 2
  1). Since then the office issues numbers *without* it where a birth date has run out of
  serials; such numbers are fully valid and "must not simply be refused as invalid". So far
  this has only happened to 1 January birth dates (1960, 1962, 1964-67, 1969, 1970, 1974,
  1975, 1978, 1980-92, 1994, 1995; the office says the list is not exhaustive). Hence:
  on a 1 January date a failed check is accepted (:attr:`Cpr.modulus_11_applies` is False);
  on any other date a failed check is most likely a typing error and asks a person to
  confirm the number against the register (:attr:`Cpr.needs_manual_check`), never a silent
  refusal.
"""

from __future__ import annotations

import re
from datetime import date

_CPR = re.compile(r"^(\d{6})-?(\d{4})$")
_WEIGHTS = (4, 3, 2, 7, 6, 5, 4, 3, 2, 1)


class InvalidCpr(ValueError):
    """``code`` says what is wrong (``format`` or ``date``) so a form can say it in Danish."""

    def __init__(self, message: str, *, code: str = "format") -> None:
        super().__init__(message)
        self.code = code


def _century(year_2: int, digit_7: int) -> int:
    """The CPR office's century table (positions 5-6 = year, position 7 = first serial)."""
    if digit_7 <= 3:
        return 1900
    if digit_7 in (4, 9):
        return 2000 if year_2 <= 36 else 1900
    return 2000 if year_2 <= 57 else 1800  # 5-8


def _birth_date(digits: str) -> date:
    day, month, year_2 = int(digits[0:2]), int(digits[2:4]), int(digits[4:6])
    year = _century(year_2, int(digits[6])) + year_2
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise InvalidCpr(
            f"the first six digits are not a date (DDMMYY): {exc}", code="date"
        ) from exc


class Cpr:
    __slots__ = ("_digits",)

    def __init__(self, text: str) -> None:
        match = _CPR.match(text.strip())
        if match is None:
            raise InvalidCpr("a CPR number has ten digits (DDMMYY-SSSS)")
        digits = match.group(1) + match.group(2)
        _birth_date(digits)
        self._digits = digits

    def reveal(self) -> str:
        """The ten digits. Only for storage, display to authorised staff, and FHIR export."""
        return self._digits

    @property
    def formatted(self) -> str:
        return f"{self._digits[:6]}-{self._digits[6:]}"

    @property
    def birth_date(self) -> date:
        return _birth_date(self._digits)

    @property
    def passes_modulus_11(self) -> bool:
        """True for numbers that pass the old modulus-11 check; demo numbers must not."""
        return sum(int(d) * w for d, w in zip(self._digits, _WEIGHTS, strict=True)) % 11 == 0

    @property
    def modulus_11_applies(self) -> bool:
        """False for 1 January birth dates, where the CPR office has issued numbers without
        the check since 1 October 2007 (see the module docstring)."""
        born = self.birth_date
        return not (born.day == 1 and born.month == 1)

    @property
    def needs_manual_check(self) -> bool:
        """The check applies and fails: probably a typing error; a person confirms it."""
        return self.modulus_11_applies and not self.passes_modulus_11

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
