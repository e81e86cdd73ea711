from __future__ import annotations

import logging
from datetime import date

import pytest

from pust.domain.cpr import Cpr, InvalidCpr


def test_cpr_never_shows_its_digits(caplog: pytest.LogCaptureFixture) -> None:
    cpr = Cpr("070761-4285")
    logging.getLogger("pust.test").warning("citizen %s %r %s", cpr, cpr, f"{cpr}")
    assert "0707" not in caplog.text and "4285" not in caplog.text
    assert cpr.reveal() == "0707614285"
    assert cpr.formatted == "070761-4285"


def test_modulus_11() -> None:
    assert Cpr("0707614285").passes_modulus_11
    assert not Cpr("0707614286").passes_modulus_11


@pytest.mark.parametrize("text", ["", "123", "07076142851", "abcdefghij", "070761+4285"])
def test_malformed_cpr_is_refused(text: str) -> None:
    with pytest.raises(InvalidCpr):
        Cpr(text)


@pytest.mark.parametrize(
    "text",
    [
        "320299-1234",  # day 32 (the example)
        "000199-1234",  # day 0
        "011399-1234",  # month 13
        "310499-1234",  # 31 April
        "300200-4234",  # 30 February
        "290201-1234",  # 29 February 1901: not a leap year
        "290200-1234",  # 29 February 1900 (digit 7 = 1): 1900 is not a leap year
    ],
)
def test_a_date_that_does_not_exist_is_refused(text: str) -> None:
    with pytest.raises(InvalidCpr) as refused:
        Cpr(text)
    assert refused.value.code == "date"


@pytest.mark.parametrize(
    ("text", "born"),
    [
        ("290200-4234", date(2000, 2, 29)),  # 4 with year 00-36: 2000s (a leap year)
        ("010158-5234", date(1858, 1, 1)),  # 5-8 with 58-99: 1800s
        ("010157-5234", date(2057, 1, 1)),  # 5-8 with 00-57: 2000s
        ("010137-9234", date(1937, 1, 1)),  # 9 with 37-99: 1900s
        ("010136-9234", date(2036, 1, 1)),  # 9 with 00-36: 2000s
        ("150570-3234", date(1970, 5, 15)),  # 0-3: 1900s
    ],
)
def test_the_century_comes_from_the_seventh_digit(text: str, born: date) -> None:
    assert Cpr(text).birth_date == born


def test_modulus_11_is_waived_on_1_january_only() -> None:
    # since 1 October 2007 the CPR office issues numbers without the check on 1 January
    exempt = Cpr("010165-1230")
    assert not exempt.passes_modulus_11 and not exempt.modulus_11_applies
    assert not exempt.needs_manual_check
    typo = Cpr("0707614286")
    assert typo.modulus_11_applies and typo.needs_manual_check
    assert not Cpr("0707614285").needs_manual_check
