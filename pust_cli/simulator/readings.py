"""The readings and symptom answers of one measuring session, as protocol-v1 payloads."""

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
    spo2 = min(100.0, round(profile.spo2_baseline - 6.5 * effect + rng.gauss(0, 1.0)))
    pulse = round(profile.pulse_baseline + 20.0 * effect + rng.gauss(0, 5.0))
    sessions.append((_OXIMETER, [("spo2", spo2), ("pulse", pulse)]))
    if slot.is_morning:
        fev1 = profile.fev1_baseline_l * (1 - 0.4 * effect) * (1 + rng.gauss(0, 0.05))
        sessions.append((_SPIROMETER, [("fev1", round(fev1, 2)), ("fev6", round(fev1 * 1.3, 2))]))
        sessions.append((_SCALE, [("weight", round(profile.weight_kg + rng.gauss(0, 0.4), 1))]))
        if profile.has_thermometer:
            fever = 1.6 * effect if rng.random() < 0.5 else 0.0
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
            "answers": _answers(profile, rng, effect),
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


def _answers(profile: CitizenProfile, rng: random.Random, effect: float) -> list[dict[str, Any]]:
    base = profile.symptom_yes_rate
    weights = {
        "more_breathless": 0.9,
        "more_cough": 0.8,
        "more_sputum": 0.8,
        "sputum_colour_changed": 0.7,
    }
    answers: list[dict[str, Any]] = [
        {"item": item, "value": rng.random() < base + weight * effect}
        for item, weight in weights.items()
    ]
    if rng.random() < 0.6:
        cat = round(profile.cat_baseline + 10.0 * effect + rng.gauss(0, 2.0))
        answers.append({"item": "cat_score", "value": int(min(40, max(0, cat)))})
    return answers
