"""A simulated COPD cohort: personal baselines, habits and exacerbations (ground truth).

Pure and seeded: the same ``seed`` always gives the same cohort. Each citizen has its own
random stream derived from ``(seed, index)``, so adding citizens never changes the others.
Ranges follow shared/clinical/BACKGROUND.md (severe COPD, GOLD D: SpO2 often 88–95 %,
FEV1 < 50 % of predicted, two or more exacerbations a year). Every parameter of the
exacerbation model names its source here and in docs/simulator.md (the table there is the
one to keep in step); where no source gives a number, it says "pust's choice".
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

# -- the exacerbation model (docs/simulator.md, "Sources") --------------------------------
# Onset is the first day the symptoms meet the diary criteria (two major, or one major and
# one minor symptom): Seemungal 2000 (AJRCCM 161:1608) and Anthonisen 1987. So at onset the
# symptoms are already up, and they began to rise in the days before (Seemungal 2000: a
# prodrome of days in symptoms and peak flow; Burton 2015 J Telemed Telecare 21:29: symptom
# scores rose in the days before an exacerbation, physiology changed less).
PRODROME = timedelta(days=2)  # pust's choice within Seemungal's "days before onset"
SYMPTOMS_BEFORE_ONSET = 0.4  # symptom level reached at onset after the prodrome ramp
SYMPTOMS_AT_ONSET = 0.7  # criteria met: most major symptoms "yes" (Seemungal 2000)
# Physiology moves little and late: home pulse oximetry at onset shows SpO2 falling by
# about 1-2 points and pulse rising by several beats (Hurst 2010, BMC Pulm Med 10:52;
# Al Rajeh & Hurst 2016 review, J Clin Med 5:108; Burton 2015). It starts a day before
# onset (Hurst 2010, Al Rajeh 2020) and peaks with the symptoms.
PHYSIOLOGY_BEFORE_ONSET = timedelta(days=1)
# Symptom-led episodes: a share of exacerbations show hardly any change in SpO2 or pulse
# (Hurst 2010: changes are mean values with wide spread; Al Rajeh & Hurst 2016). pust's
# choice: 30 % of episodes with 15 % of the usual physiological change.
SYMPTOM_LED_SHARE = 0.3
SYMPTOM_LED_PHYSIOLOGY = 0.15
# Time course: peak 2-4 days after onset, recovery 5-10 days after the peak; Seemungal 2000
# reports a median recovery of 7 days for symptoms and 6 for peak flow.
PEAK_AFTER_ONSET_DAYS = (2.0, 4.0)
RECOVERY_AFTER_PEAK_DAYS = (5.0, 10.0)
# How often: Hurst 2010 (NEJM 363:1128, ECLIPSE) ~2.0 a year in GOLD 4 and more in those
# with frequent exacerbations before; BACKGROUND.md: the programmes take citizens with >= 2
# a year. pust's choice: 3.0 a year.
EXACERBATIONS_PER_YEAR = 3.0


def _ramp(at: datetime, start: datetime, end: datetime, low: float, high: float) -> float:
    return low + (high - low) * ((at - start) / (end - start))


@dataclass(frozen=True, slots=True)
class Exacerbation:
    """Ground truth: an exacerbation with its symptom ``onset`` (Seemungal 2000), its
    ``peak`` and its recovery by ``end``. ``depth`` (0..1) is how far the physiology moves at
    the peak; ``physiology`` (0..1) scales that (a symptom-led episode moves it little)."""

    device_id: str
    onset: datetime
    peak: datetime
    end: datetime
    depth: float  # 0..1: how bad it gets at the peak
    physiology: float = 1.0  # < 1: a symptom-led episode with little physiological change

    @property
    def starts(self) -> datetime:
        """When anything first changes: the symptom prodrome before onset."""
        return self.onset - PRODROME

    @property
    def symptom_led(self) -> bool:
        return self.physiology < 1.0

    def symptoms(self, at: datetime) -> float:
        """0..1: how likely the citizen answers "more than usual" beyond the daily rate."""
        if at <= self.starts or at >= self.end:
            return 0.0
        if at < self.onset:
            return _ramp(at, self.starts, self.onset, 0.0, SYMPTOMS_BEFORE_ONSET)
        if at <= self.peak:
            return _ramp(at, self.onset, self.peak, SYMPTOMS_AT_ONSET, 1.0)
        return _ramp(at, self.peak, self.end, 1.0, 0.0)

    def effect(self, at: datetime) -> float:
        """The physiological change (SpO2, pulse, FEV1, fever): 0 until a day before onset,
        rising linearly to ``depth × physiology`` at the peak, then falling to 0 by the end."""
        begins = self.onset - PHYSIOLOGY_BEFORE_ONSET
        if at <= begins or at >= self.end:
            return 0.0
        top = self.depth * self.physiology
        if at <= self.peak:
            return _ramp(at, begins, self.peak, 0.0, top)
        return _ramp(at, self.peak, self.end, top, 0.0)


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
        """The physiological change at ``at`` (see :meth:`Exacerbation.effect`)."""
        return max((episode.effect(at) for episode in self.exacerbations), default=0.0)

    def symptom_effect(self, at: datetime) -> float:
        return max((episode.symptoms(at) for episode in self.exacerbations), default=0.0)


@dataclass(frozen=True, slots=True)
class CohortSpec:
    citizens: int
    start: datetime  # UTC, midnight of the first day in the clinic's time zone is fine
    days: int
    seed: int = 1
    device_prefix: str = "sim"
    exacerbations_per_year: float = EXACERBATIONS_PER_YEAR
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
        # BACKGROUND.md: many live at 88-92 %; about 16 % of the cohort is below the
        # population yellow limit (90 %) and about 2 % below the red one (88 %)
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
    kinds = citizen_random(spec.seed, index, "exacerbation-kind")  # onsets stay as they were
    per_day = spec.exacerbations_per_year / 365.0
    episodes: list[Exacerbation] = []
    day = spec.earliest_onset_day
    while day < spec.days:
        if rng.random() < per_day:
            onset = spec.start + timedelta(days=day, hours=rng.uniform(0, 24))
            peak = onset + timedelta(days=rng.uniform(*PEAK_AFTER_ONSET_DAYS))
            end = peak + timedelta(days=rng.uniform(*RECOVERY_AFTER_PEAK_DAYS))
            depth = rng.uniform(0.5, 1.0)  # pust's choice: how bad the peak gets
            led = kinds.random() < SYMPTOM_LED_SHARE
            physiology = SYMPTOM_LED_PHYSIOLOGY if led else 1.0
            episodes.append(Exacerbation(device_id, onset, peak, end, depth, physiology))
            day = (end - spec.start).days + 14
        else:
            day += 1
    return tuple(episodes)
