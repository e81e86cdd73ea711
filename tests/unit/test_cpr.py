from __future__ import annotations

import logging

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
