"""Numbers, units, dates and weekdays as a Danish nurse reads them (Babel, da_DK, the
clinic's time zone), and domain validation sentences turned into Danish field errors."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from pust.domain.limits import RuleSet
from services.api.web.form_errors import domain_message, field_errors, message_for
from services.api.web.formatting import Formatter
from services.api.web.i18n import translator

DA = Formatter("da", ZoneInfo("Europe/Copenhagen"))
T = translator("da")


def test_values_have_decimal_commas_and_readable_units() -> None:
    assert DA.measurement(36.8, "temperature") == "36,8 °C"
    assert DA.measurement(99.0, "pulse") == "99 /min"
    assert DA.measurement(142, "bp_systolic") == "142 mmHg"
    assert DA.measurement(1.452, "fev1") == "1,45 L"
    assert (
        DA.measurement(82.25, "weight") == "82,2 kg" or DA.measurement(82.25, "weight") == "82,3 kg"
    )
    assert DA.number(1234.5, 1) == "1.234,5"


def test_times_are_local_and_pauses_end_on_their_last_day() -> None:
    winter = datetime(2026, 11, 30, 7, 27, tzinfo=UTC)
    summer = datetime(2026, 7, 1, 7, 27, tzinfo=UTC)
    assert DA.datetime(winter) == "30.11.2026 08.27"
    assert DA.datetime(summer) == "01.07.2026 09.27"
    stored_end = datetime(2026, 12, 9, 23, 0, tzinfo=UTC)  # 10.12 00.00 in Copenhagen
    assert DA.last_day(stored_end) == "09.12.2026"


def test_weekdays_and_names_in_danish() -> None:
    assert [DA.weekday(d) for d in ("mon", "thu", "sun")] == ["mandag", "torsdag", "søndag"]
    assert DA.questionnaire("kol-symptoms-v1") == "KOL-symptomer"
    assert DA.age(3 * 3600) == "3 timer"


def test_domain_sentences_become_danish_field_errors() -> None:
    assert domain_message("spo2: yellow low 90.0 is outside red low 92.0", DA, T) == (
        "yellow_low",
        "Gul under (90) skal være højere end rød under (92).",
    )
    assert domain_message("time '25:00' does not exist on a 24-hour clock", DA, T) == (
        "times",
        "Tidspunktet 25:00 findes ikke; brug 00:00–23:59.",
    )
    try:
        RuleSet.model_validate(
            {"change": [{"type": "weight", "unit": "kg", "window_days": 7, "yellow": -1}]}
        )
    except ValidationError as exc:
        errors = field_errors(exc, DA, T)
    assert errors == {"yellow": "Skal være større end 0."}


def test_an_unknown_sentence_is_still_shown_with_a_danish_lead_in() -> None:
    assert domain_message("something new", DA, T) is None
    field, text = message_for({"type": "value_error", "msg": "Value error, something new"}, DA, T)
    assert (field, text) == ("", "Værdien passer ikke med reglerne (something new)")
