"""A simulated COPD cohort: personal baselines, habits and exacerbations (ground truth).

Pure and seeded: the same ``seed`` always gives the same cohort. Each citizen has its own
random stream derived from ``(seed, index)``, so adding citizens never changes the others.
Ranges follow shared/clinical/BACKGROUND.md (severe COPD, GOLD D: SpO2 often 88–95 %,
FEV1 < 50 % of predicted, two or more exacerbations a year).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Exacerbation:
    """Ground truth: symptoms worsen from ``onset`` to ``peak`` and recover by ``end``."""

    device_id: str
    onset: datetime
    peak: datetime
    end: datetime
    depth: float  # 0..1: how bad it gets at the peak

    def effect(self, at: datetime) -> float:
        """0 outside the episode, rising linearly to ``depth`` at the peak, then falling."""
        if at <= self.onset or at >= self.end:
            return 0.0
        if at <= self.peak:
            return self.depth * (at - self.onset) / (self.peak - self.onset)
        return self.depth * (self.end - at) / (self.end - self.peak)


@dataclass(frozen=True, slots=True)
class CitizenProfile:
    index: int
    device_id: str
    spo2_baseline: float  # %
    pulse_baseline: float  # /min
    weight_kg: float
    fev1_predicted_l: float
    fev1_baseline_l: float  # well below predicted
    cat_baseline: int  # 0..40
    temperature_c: float
    symptom_yes_rate: float  # chance of a "yes" on a good day
    adherence: float  # chance of measuring at a planned slot
    late_upload_rate: float  # chance that a measurement is uploaded hours later
    manual_rate: float  # chance that the citizen types a reading instead
    wrong_unit_rate: float  # chance of lb / fraction / degF on the wire
    silent_rate: float  # chance per day that the tablet goes silent for hours
    has_thermometer: bool
    exacerbations: tuple[Exacerbation, ...]

    @property
    def fev1_percent_predicted(self) -> float:
        return 100.0 * self.fev1_baseline_l / self.fev1_predicted_l

    def exacerbation_effect(self, at: datetime) -> float:
        return max((episode.effect(at) for episode in self.exacerbations), default=0.0)


@dataclass(frozen=True, slots=True)
class CohortSpec:
    citizens: int
    start: datetime  # UTC, midnight of the first day in the clinic's time zone is fine
    days: int
    seed: int = 1
    device_prefix: str = "sim"
    exacerbations_per_year: float = 3.0
    # onsets only after the run-in, so the personal baselines are clean
    earliest_onset_day: int = 14
    first_device_number: int = 1

    def device_id(self, index: int) -> str:
        return f"{self.device_prefix}-{index + self.first_device_number:05d}"


@dataclass(frozen=True, slots=True)
class Cohort:
    spec: CohortSpec
    citizens: tuple[CitizenProfile, ...]

    @property
    def exacerbations(self) -> tuple[Exacerbation, ...]:
        return tuple(e for c in self.citizens for e in c.exacerbations)


def citizen_random(seed: int, index: int, purpose: str) -> random.Random:
    """An independent, reproducible random stream per citizen and purpose."""
    return random.Random(f"pust-sim:{seed}:{index}:{purpose}")  # noqa: S311 - simulation


def _clamp(value: float, low: float, high: float) -> float:
    return min(high, max(low, value))


def build_cohort(spec: CohortSpec, *, device_ids: tuple[str, ...] | None = None) -> Cohort:
    if spec.citizens < 0 or spec.days < 0:
        raise ValueError("citizens and days must not be negative")
    if device_ids is not None and len(device_ids) != spec.citizens:
        raise ValueError("one device id per citizen")
    citizens = tuple(
        _build_citizen(spec, index, device_ids[index] if device_ids else spec.device_id(index))
        for index in range(spec.citizens)
    )
    return Cohort(spec=spec, citizens=citizens)


def _build_citizen(spec: CohortSpec, index: int, device_id: str) -> CitizenProfile:
    rng = citizen_random(spec.seed, index, "profile")
    predicted = _clamp(rng.gauss(2.9, 0.5), 1.8, 4.2)
    percent = rng.uniform(0.22, 0.48)
    return CitizenProfile(
        index=index,
        device_id=device_id,
        spo2_baseline=round(_clamp(rng.gauss(92.0, 2.0), 87.0, 97.0), 1),
        pulse_baseline=round(_clamp(rng.gauss(82.0, 9.0), 58.0, 105.0), 1),
        weight_kg=round(_clamp(rng.gauss(72.0, 15.0), 40.0, 130.0), 1),
        fev1_predicted_l=round(predicted, 2),
        fev1_baseline_l=round(predicted * percent, 2),
        cat_baseline=int(_clamp(round(rng.gauss(18.0, 6.0)), 4, 34)),
        temperature_c=round(rng.uniform(36.3, 37.0), 1),
        symptom_yes_rate=rng.uniform(0.01, 0.08),
        adherence=rng.uniform(0.75, 0.98),
        late_upload_rate=rng.uniform(0.0, 0.06),
        manual_rate=rng.uniform(0.0, 0.1),
        wrong_unit_rate=rng.uniform(0.0, 0.04),
        silent_rate=rng.uniform(0.0, 0.05),
        has_thermometer=rng.random() < 0.4,
        exacerbations=_exacerbations(spec, index, device_id),
    )


def _exacerbations(spec: CohortSpec, index: int, device_id: str) -> tuple[Exacerbation, ...]:
    """Onsets as a Poisson process in days; a new one only after the previous has ended and
    two quiet weeks have passed."""
    rng = citizen_random(spec.seed, index, "exacerbations")
    per_day = spec.exacerbations_per_year / 365.0
    episodes: list[Exacerbation] = []
    day = spec.earliest_onset_day
    while day < spec.days:
        if rng.random() < per_day:
            onset = spec.start + timedelta(days=day, hours=rng.uniform(0, 24))
            peak = onset + timedelta(days=rng.uniform(2.0, 4.0))
            end = peak + timedelta(days=rng.uniform(5.0, 10.0))
            episodes.append(Exacerbation(device_id, onset, peak, end, rng.uniform(0.5, 1.0)))
            day = (end - spec.start).days + 14
        else:
            day += 1
    return tuple(episodes)
