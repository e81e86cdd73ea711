"""How the UI writes numbers, units, dates and times: Babel with the da_DK locale (en_GB for
English), in the clinic's time zone (``PUST_CLINIC_TIMEZONE``). One home for it, so the
table, the chart, its tooltip and the alert's reason all say "36,8 °C" and "08.27".

Values are stored in canonical UCUM units (``Cel``, ``mm[Hg]``); :data:`UNIT_LABELS` is
how a person reads them. :data:`DECIMALS` is the precision each type is measured with, so
a weight keeps its one decimal and a pulse never shows "99,0".
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_skeleton, format_time, get_day_names
from babel.dates import format_timedelta as babel_timedelta
from babel.numbers import format_decimal

from pust.domain.measurement_types import spec_for
from pust.domain.plans import WEEKDAYS
from pust.domain.questionnaires import QUESTIONNAIRES

LOCALES = {"da": "da_DK", "en": "en_GB"}

# canonical UCUM code -> what a nurse reads
UNIT_LABELS: dict[str, str] = {
    "Cel": "°C",
    "[degF]": "°F",
    "mm[Hg]": "mmHg",
    "/min": "/min",
    "%": "%",
    "kg": "kg",
    "[lb_av]": "lb",
    "L": "L",
    "L/min": "L/min",
    "L/s": "L/s",
    "mg/L": "mg/L",
    "/30s": "/30 s",
    "{score}": "point",
    "1": "",
}

# decimals a value of each type is shown with (the precision the devices measure)
DECIMALS: dict[str, int] = {
    "spo2": 0,
    "pulse": 0,
    "weight": 1,
    "temperature": 1,
    "fev1": 2,
    "fev6": 2,
    "fvc": 2,
    "pef": 0,
    "bp_systolic": 0,
    "bp_diastolic": 0,
    "respiratory_rate": 0,
    "crp": 0,
    "sit_to_stand": 0,
    "cat_score": 0,
}


def unit_label(unit: str) -> str:
    return UNIT_LABELS.get(unit, unit)


@dataclass(frozen=True, slots=True)
class Formatter:
    """Everything the pages write, for one language and the clinic's time zone."""

    language: str
    zone: ZoneInfo

    @property
    def locale(self) -> str:
        return LOCALES.get(self.language, "da_DK")

    # numbers -------------------------------------------------------------------------------
    def number(self, value: float | None, decimals: int = 1) -> str:
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return "–"
        pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
        return format_decimal(round(value, decimals), pattern, locale=self.locale)

    def decimals_for(self, type_: str) -> int:
        return DECIMALS.get(type_, 1)

    def value(self, value: float | None, type_: str) -> str:
        """A measured value in its type's precision, without unit: "36,8"."""
        return self.number(value, self.decimals_for(type_))

    def unit_of(self, type_: str) -> str:
        spec = spec_for(type_)
        if spec is not None:
            return unit_label(spec.unit)
        return "point" if self.language == "da" else "points"

    def measurement(self, value: float | None, type_: str, unit: str | None = None) -> str:
        """ "36,8 °C", "94 %", "1,45 L", "72 /min"."""
        shown = unit_label(unit) if unit is not None else self.unit_of(type_)
        text = self.value(value, type_)
        return f"{text} {shown}".strip()

    # dates and times -----------------------------------------------------------------------
    def local(self, at: dt.datetime) -> dt.datetime:
        return at.astimezone(self.zone)

    def datetime(self, at: dt.datetime | None) -> str:
        """ "30.11.2026 08.27" (Danish) in the clinic's time zone."""
        if at is None:
            return "–"
        return format_datetime(at, "short", tzinfo=self.zone, locale=self.locale).replace(",", "")

    def date(self, day: dt.date | dt.datetime | None) -> str:
        if day is None:
            return "–"
        if isinstance(day, dt.datetime):
            day = self.local(day).date()
        return format_date(day, "short", locale=self.locale)

    def last_day(self, ends_at: dt.datetime) -> str:
        """A period that ends at a local midnight ends, as people say it, the day before
        (a pause "until 9.12" is stored as ending at 10.12 00.00)."""
        local = self.local(ends_at)
        if (local.hour, local.minute, local.second) == (0, 0, 0):
            return self.date((local - dt.timedelta(days=1)).date())
        return self.datetime(ends_at)

    def time(self, at: dt.datetime) -> str:
        return format_time(at, "short", tzinfo=self.zone, locale=self.locale)

    def day_month(self, at: dt.datetime | dt.date) -> str:
        """Axis label: "30.11"."""
        if isinstance(at, dt.datetime):
            at = self.local(at).date()
        return format_skeleton("dMM", at, locale=self.locale)

    def day_heading(self, day: dt.date) -> str:
        """ "man. 30. nov."."""
        return format_skeleton("MMMEd", day, locale=self.locale)

    def weekday(
        self, code: str, width: Literal["abbreviated", "narrow", "short", "wide"] = "wide"
    ) -> str:
        """ "mon" → "mandag" (or "man." with width="abbreviated")."""
        names = get_day_names(width, locale=self.locale)
        return str(names[WEEKDAYS.index(code)]) if code in WEEKDAYS else code

    def age(self, seconds: float) -> str:
        """ "3 timer", "2 dage", rounded the way people say it."""
        return babel_timedelta(
            dt.timedelta(seconds=max(seconds, 0)), threshold=1.5, locale=self.locale
        )

    def age_since(self, at: dt.datetime, now: dt.datetime) -> str:
        return self.age((now - at).total_seconds())

    # names ---------------------------------------------------------------------------------
    def questionnaire(self, questionnaire_id: str) -> str:
        found = QUESTIONNAIRES.get(questionnaire_id)
        if found is None:
            return questionnaire_id
        return found.title_en if self.language == "en" else found.title_da

    def type_name(self, type_: str) -> str:
        spec = spec_for(type_)
        if spec is not None:
            return spec.english_name if self.language == "en" else spec.danish_name
        if type_ == "cat_score":
            return "CAT-score" if self.language == "da" else "CAT score"
        return type_
