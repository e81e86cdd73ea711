"""The readings and symptom answers of one measuring session, as protocol-v1 payloads.

How each value moves in an exacerbation (``effect``: the physiological change, 0..1;
``symptoms``: the symptom level, see :mod:`pust_cli.simulator.cohort`) and where the numbers
come from; the table in docs/simulator.md lists the same.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pust.domain.questionnaires import KOL_SYMPTOMS_V1
from pust.messaging.topics import DeviceChannel
from pust_cli.simulator.cohort import CitizenProfile
from pust_cli.simulator.messages import SimMessage, message_id, wire_time

LB_PER_KG = 2.2046226218

# SpO2 falls ~1-2 points at onset, more at the peak (Hurst 2010 BMC Pulm Med 10:52; Al Rajeh
# & Hurst 2016 J Clin Med 5:108); day-to-day noise sd 1 point (oximeter resolution 1 %,
# pust's choice)
SPO2_DROP_AT_PEAK = 3.5
SPO2_NOISE = 1.0
# pulse rises several beats at onset, ~10 /min at the peak (Hurst 2010; Burton 2015 J
# Telemed Telecare 21:29); day-to-day sd 5 /min (pust's choice)
PULSE_RISE_AT_PEAK = 10.0
PULSE_NOISE = 5.0
# FEV1/peak flow fall is small (Seemungal 2000 AJRCCM 161:1608: median PEF fall of a few
# per cent); pust's choice 15 % at the peak; session-to-session sd 5 % (ATS/ERS
# repeatability)
FEV1_FALL_AT_PEAK = 0.15
FEV1_NOISE = 0.05
# weight does not move with an exacerbation (no source gives a change; fluid gain is heart
# failure's sign, BACKGROUND.md's weight rule); scale noise sd 0.4 kg (pust's choice)
WEIGHT_NOISE = 0.4
# fever is a minor criterion (Anthonisen 1987), present in some episodes: half, up to
# 1.6 °C at the peak (pust's choice)
FEVER_SHARE = 0.5
FEVER_AT_PEAK = 1.6
# CAT rises ~4-5 points at exacerbation (Mackay 2012 AJRCCM 185:1218); sd 2 (pust's
# choice); answered on 60 % of sheets (optional item, pust's choice)
CAT_RISE_AT_PEAK = 5.0
CAT_ANSWERED = 0.6
# the chance of a "yes" beyond the citizen's daily rate at full symptom level, per item
# (Seemungal 2000: breathlessness the commonest major symptom, then sputum, purulence)
SYMPTOM_WEIGHTS = {
    "more_breathless": 0.9,
    "more_cough": 0.8,
    "more_sputum": 0.8,
    "sputum_colour_changed": 0.7,
}


@dataclass(frozen=True, slots=True)
class Slot:
    measured_at: datetime
    is_morning: bool
    upload_delay: timedelta


def _peripheral(profile: CitizenProfile, kind: int, model: str) -> dict[str, str]:
    system = (
        f"00-1B-DC-{kind:02X}-{(profile.index >> 16) & 0xFF:02X}-"
        f"{(profile.index >> 8) & 0xFF:02X}-{profile.index & 0xFF:02X}-01"
    )
    return {"system_id": system, "model": model, "serial": f"{kind}{profile.index:07d}"}


_OXIMETER, _SPIROMETER, _SCALE, _THERMOMETER = 1, 2, 3, 4
_MODELS = {
    _OXIMETER: "Nonin 3230",
    _SPIROMETER: "MIR Smart One",
    _SCALE: "A&D UC-352BLE",
    _THERMOMETER: "Braun ThermoScan",
}


def slot_messages(
    profile: CitizenProfile, rng: random.Random, slot: Slot, tz: ZoneInfo
) -> list[SimMessage]:
    """One message per peripheral, a minute apart, then the questionnaire (mornings)."""
    effect = profile.exacerbation_effect(slot.measured_at)
    sessions: list[tuple[int, list[tuple[str, float]]]] = []
    spo2_mean = profile.spo2_baseline - SPO2_DROP_AT_PEAK * effect
    spo2 = min(100.0, round(spo2_mean + rng.gauss(0, SPO2_NOISE)))
    pulse = round(profile.pulse_baseline + PULSE_RISE_AT_PEAK * effect + rng.gauss(0, PULSE_NOISE))
    sessions.append((_OXIMETER, [("spo2", spo2), ("pulse", pulse)]))
    if slot.is_morning:
        fev1 = (
            profile.fev1_baseline_l
            * (1 - FEV1_FALL_AT_PEAK * effect)
            * (1 + rng.gauss(0, FEV1_NOISE))
        )
        sessions.append((_SPIROMETER, [("fev1", round(fev1, 2)), ("fev6", round(fev1 * 1.3, 2))]))
        weight = round(profile.weight_kg + rng.gauss(0, WEIGHT_NOISE), 1)
        sessions.append((_SCALE, [("weight", weight)]))
        if profile.has_thermometer:
            fever = FEVER_AT_PEAK * effect if rng.random() < FEVER_SHARE else 0.0
            temperature = profile.temperature_c + fever + rng.gauss(0, 0.2)
            sessions.append((_THERMOMETER, [("temperature", round(temperature, 1))]))
    messages: list[SimMessage] = []
    for offset, (kind, values) in enumerate(sessions):
        measured = slot.measured_at + timedelta(minutes=offset)
        manual = rng.random() < profile.manual_rate
        observations = [
            _observation(
                profile,
                rng,
                kind=kind,
                type_name=type_name,
                value=value,
                measured=measured,
                tz=tz,
                manual=manual,
            )
            for type_name, value in values
        ]
        sent = measured + timedelta(seconds=30) + slot.upload_delay
        payload = {
            "message_id": message_id(rng),
            "sent_at": wire_time(sent, tz),
            "observations": observations,
        }
        messages.append(SimMessage(sent, profile.device_id, DeviceChannel.MEASUREMENTS, payload))
    if slot.is_morning:
        answered = slot.measured_at + timedelta(minutes=len(sessions) + 1)
        sent = answered + timedelta(seconds=20) + slot.upload_delay
        payload = {
            "message_id": message_id(rng),
            "sent_at": wire_time(sent, tz),
            "questionnaire": KOL_SYMPTOMS_V1.id,
            "answered_at": wire_time(answered, tz),
            "answers": _answers(profile, rng, profile.symptom_effect(answered)),
        }
        messages.append(
            SimMessage(sent, profile.device_id, DeviceChannel.QUESTIONNAIRE_RESPONSES, payload)
        )
    return messages


def _observation(
    profile: CitizenProfile,
    rng: random.Random,
    *,
    kind: int,
    type_name: str,
    value: float,
    measured: datetime,
    tz: ZoneInfo,
    manual: bool,
) -> dict[str, Any]:
    unit = {
        "spo2": "%",
        "pulse": "/min",
        "fev1": "L",
        "fev6": "L",
        "weight": "kg",
        "temperature": "Cel",
    }[type_name]
    wire_value: float = value
    if rng.random() < profile.wrong_unit_rate:
        if type_name == "weight":
            wire_value, unit = round(value * LB_PER_KG, 1), "[lb_av]"
        elif type_name == "spo2":
            wire_value, unit = round(value / 100.0, 2), "1"
        elif type_name == "temperature":
            wire_value, unit = round(value * 9.0 / 5.0 + 32.0, 1), "[degF]"
    observation: dict[str, Any] = {
        "type": type_name,
        "value": wire_value,
        "unit": unit,
        "measured_at": wire_time(measured, tz),
        "entry": "manual" if manual else "device",
    }
    if not manual:
        observation["peripheral"] = _peripheral(profile, kind, _MODELS[kind])
    return observation


def _answers(profile: CitizenProfile, rng: random.Random, symptoms: float) -> list[dict[str, Any]]:
    base = profile.symptom_yes_rate
    answers: list[dict[str, Any]] = [
        {"item": item, "value": rng.random() < base + weight * symptoms}
        for item, weight in SYMPTOM_WEIGHTS.items()
    ]
    if rng.random() < CAT_ANSWERED:
        cat = round(profile.cat_baseline + CAT_RISE_AT_PEAK * symptoms + rng.gauss(0, 2.0))
        answers.append({"item": "cat_score", "value": int(min(40, max(0, cat)))})
    return answers
