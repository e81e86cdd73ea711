"""One bridge cycle: find what is owed, then send what is due.

Each submission is claimed in its own short transaction (the claim is a lease), sent with no
transaction open, then completed in another. A kill between send and completion, a timeout,
a dropped connection or a 5xx leave the outcome unknown: the next attempt (``attempts > 1``)
first searches the target by each resource's identifier and sends only what is not there
(a server that ignores ``ifNoneExist``, as FUT's measurement server does not declare it,
still gets each measurement once). Conditional create is used only where the target's
CapabilityStatement declares it (read once at start-up, the mode logged). In normal
operation nothing is sent twice: a 2xx is recorded before the next claim.
"""

from __future__ import annotations

import logging
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from pust.db.engine import session_scope
from pust.db.outbox import DEAD, RetryPolicy, lease_due, mark_failed, mark_sent, mark_skipped
from pust.db.tables import OutboxMessage
from pust.domain.clock import Clock
from pust.fhir.bridge_status import bridge_status
from pust.fhir.devices import DeviceIdentity, DeviceUnknown, ehealth_device, remember
from pust.fhir.fut_terminology import conditional_create_declared, conditional_create_of
from pust.fhir.loader import (
    Invalidation,
    NothingToSubmit,
    Submission,
    Withdrawn,
    build_submission,
)
from pust.fhir.outbox import (
    CHANNEL,
    Scope,
    enqueue_invalidations,
    enqueue_readings,
    enqueue_response_invalidations,
    enqueue_responses,
)
from pust.fhir.submission import EntryIdentity, SubmitOptions
from pust.fhir.validity import OPERATION_PATH, set_measurement_validity_parameters
from services.bridge.metrics import BridgeMetrics
from services.bridge.settings import BridgeSettings
from services.bridge.transport import SendOutcome, TokenContext, Transport

log = logging.getLogger("pust.bridge")


@dataclass
class CycleResult:
    enqueued: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    skipped: int = 0  # withdrawn: invalidated before sending, no FUT code
    saturated: bool = False  # the owed-query hit its limit: there is more to find

    @property
    def busy(self) -> bool:
        return bool(self.enqueued or self.sent or self.retried or self.dead or self.skipped)


def retry_policy(settings: BridgeSettings) -> RetryPolicy:
    """The outbox's one retry policy with the bridge's numbers: initial · 2^(attempts-1),
    capped, shortened by up to half so that a backlog failing together spreads out."""
    return RetryPolicy(
        base=timedelta(seconds=settings.backoff_initial_seconds),
        cap=timedelta(seconds=settings.backoff_max_seconds),
        max_attempts=settings.max_attempts,
        lease=timedelta(seconds=settings.lease_seconds),
        jitter=0.5,
    )


def submit_options(transport: Transport, settings: BridgeSettings) -> SubmitOptions:
    """Which resource types get ``ifNoneExist``: as configured, or (``auto``) as the target's
    CapabilityStatement declares, FUT 8.0.0's when the target's cannot be read. Logged."""
    declared: dict[str, bool]
    if settings.conditional_create == "auto":
        capability = transport.capability()
        source = "target" if capability is not None else "fut-ig-8.0.0"
        declared = (
            conditional_create_of(capability)
            if capability is not None
            else conditional_create_declared()
        )
    else:
        source = f"setting-{settings.conditional_create}"
        always = settings.conditional_create == "always"
        declared = {"Observation": always, "QuestionnaireResponse": always}
    chosen = frozenset(t for t in ("Observation", "QuestionnaireResponse") if declared.get(t))
    for resource_type in ("Observation", "QuestionnaireResponse"):
        mode = "conditional-create" if resource_type in chosen else "search-before-resend"
        log.info("bridge.create_mode type=%s mode=%s source=%s", resource_type, mode, source)
    return SubmitOptions(
        identifier_system=settings.identifier_system,
        conditional_create=chosen,
        literal_devices=settings.device_references == "literal",
    )


class BridgeWorker:
    def __init__(
        self,
        *,
        engine: Engine,
        transport: Transport,
        settings: BridgeSettings,
        metrics: BridgeMetrics,
        clock: Clock,
        rng: random.Random | None = None,
    ) -> None:
        self._engine = engine
        self._transport = transport
        self._settings = settings
        self._metrics = metrics
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._rng_lock = threading.Lock()
        self._policy = retry_policy(settings)
        self._options = submit_options(transport, settings)

    @property
    def options(self) -> SubmitOptions:
        return self._options

    @property
    def settings(self) -> BridgeSettings:
        return self._settings

    def enqueue(self, *, full_scan: bool) -> tuple[int, bool]:
        now = self._clock.now()
        since = None if full_scan else now - timedelta(hours=self._settings.lookback_hours)
        scope = Scope(since=since)
        limit = self._settings.batch_size * 4
        window = timedelta(seconds=self._settings.session_window_seconds)
        with session_scope(self._engine) as session:
            result = enqueue_readings(
                session,
                now=now,
                scope=scope,
                limit=limit,
                bp_grace=timedelta(seconds=self._settings.bp_pair_grace_seconds),
                session_window=window,
            )
            result += enqueue_responses(
                session, now=now, scope=scope, limit=limit, session_window=window
            )
            result.enqueued += enqueue_invalidations(session, now=now, limit=limit)
            result.enqueued += enqueue_response_invalidations(session, now=now, limit=limit)
        self._metrics.enqueued.labels("enqueued").inc(result.enqueued)
        self._metrics.enqueued.labels("skipped").inc(result.skipped)
        if result.enqueued or result.skipped:
            log.info("fhir.enqueued count=%d skipped=%d", result.enqueued, result.skipped)
        found = result.enqueued + result.skipped + result.waiting
        return result.enqueued, found >= limit

    def send_due(self, *, ids: list[int] | None = None) -> CycleResult:
        """Send up to ``batch_size`` due submissions, ``concurrency`` at a time (a regional
        server answers in hundreds of milliseconds; one request at a time would cap the
        bridge at a few per second)."""
        lanes = max(1, min(self._settings.concurrency, self._settings.batch_size))
        share = -(-self._settings.batch_size // lanes)
        if lanes == 1:
            return self._send_lane(ids, share)
        with ThreadPoolExecutor(max_workers=lanes, thread_name_prefix="fhir-send") as pool:
            results = list(pool.map(lambda _: self._send_lane(ids, share), range(lanes)))
        total = CycleResult()
        for lane in results:
            total.sent += lane.sent
            total.retried += lane.retried
            total.dead += lane.dead
            total.skipped += lane.skipped
        return total

    def _send_lane(self, ids: list[int] | None, limit: int) -> CycleResult:
        result = CycleResult()
        for _ in range(limit):
            outcome = self._send_one(ids)
            if outcome is None:
                break
            setattr(result, outcome, getattr(result, outcome) + 1)
        return result

    def _send_one(self, ids: list[int] | None) -> str | None:
        """Claim, send and complete one submission; the CycleResult field to count, or None
        when nothing is due."""
        with session_scope(self._engine) as session:
            claimed = lease_due(
                session,
                channels=[CHANNEL],
                now=self._clock.now(),
                limit=1,
                policy=self._policy,
                ids=ids,
            )
            if not claimed:
                return None
            message = claimed[0]
            assert message.id is not None
            unknown: DeviceUnknown | None = None
            work: Submission | Invalidation | str | None = None
            try:
                work = self._build(session, message)
            except DeviceUnknown as exc:
                unknown = exc
        outcome: SendOutcome | None = None
        if unknown is not None:  # once per device: learn its FUT id, then build again
            outcome = self._learn_device(unknown.identity)
            if outcome.kind == "sent":
                outcome = None
                with session_scope(self._engine) as session:
                    fresh = session.get(OutboxMessage, message.id)
                    assert fresh is not None
                    try:
                        work = self._build(session, fresh)
                    except DeviceUnknown:  # a second device in one session: next attempt
                        outcome = SendOutcome("retry", None, "another device to learn")
        if isinstance(work, str):
            return work
        with self._metrics.request_seconds.time():
            if outcome is not None or work is None:
                outcome = outcome or SendOutcome("retry", None, "device unknown")
            elif isinstance(work, Invalidation):
                outcome = self._invalidate(work)
            else:
                outcome = self._submit(work, resend=message.attempts > 1)
        with session_scope(self._engine) as session:
            now = self._clock.now()
            if outcome.kind == "sent":
                mark_sent(session, message_id=message.id, now=now)
                counted = "sent"
            else:
                with self._rng_lock:
                    draw = self._rng.random()
                status = mark_failed(
                    session,
                    message_id=message.id,
                    error=outcome.reason,
                    now=now,
                    policy=self._policy,
                    permanent=outcome.kind == "refused",
                    draw=draw,
                )
                counted = "dead" if status == DEAD else "retried"
        label = {"sent": "sent", "retried": "retry", "dead": "dead"}[counted]
        self._metrics.attempts.labels(label).inc()
        log.info(
            "fhir.attempt outbox_id=%d attempt=%d outcome=%s status=%s",
            message.id,
            message.attempts,
            label,
            outcome.status,
        )
        return counted

    def _build(self, session: Session, message: OutboxMessage) -> Submission | Invalidation | str:
        """The work of a claimed row, or the CycleResult field when there is none (the row
        is then marked). Raises DeviceUnknown."""
        assert message.id is not None
        try:
            return build_submission(session, message, self._options)
        except Withdrawn as exc:
            mark_skipped(session, message_id=message.id, now=self._clock.now(), note=str(exc))
            log.info("fhir.withdrawn outbox_id=%d", message.id)
            return "skipped"
        except NothingToSubmit as exc:
            mark_failed(
                session,
                message_id=message.id,
                error=f"nothing to submit: {exc}",
                now=self._clock.now(),
                policy=self._policy,
                permanent=True,
            )
            self._metrics.attempts.labels("dead").inc()
            log.warning("fhir.unsendable outbox_id=%d", message.id)
            return "dead"

    def _learn_device(self, identity: DeviceIdentity) -> SendOutcome:
        """Search FUT's device service by identifier; create the Device if it is not there
        (conditional create); keep its literal reference in regional_device."""
        found = self._transport.find("Device", identity.system, identity.value)
        if found.kind != "ok":
            return SendOutcome(found.kind, None, f"device search: {found.reason}")
        if found.matches:
            reference = found.matches[0][0].split("/_history/")[0]
            source = "found"
        else:
            condition = urlencode({"identifier": f"{identity.system}|{identity.value}"})
            created = self._transport.create_device(ehealth_device(identity), condition)
            if created.kind != "sent" or created.document is None:
                return SendOutcome(created.kind, created.status, f"device: {created.reason}")
            reference = str(created.document["reference"])
            source = "created"
        try:
            with session_scope(self._engine) as session:
                remember(session, identity, reference, self._clock.now())
        except IntegrityError:
            pass  # another lane learned the same device at the same moment: its row stands
        log.info("bridge.device_learned kind=%s source=%s", identity.kind, source)
        return SendOutcome("sent", None, "ok")

    def _submit(self, work: Submission, *, resend: bool) -> SendOutcome:
        """Send; on a resend whose earlier outcome is unknown, search first and send only
        the resources the target does not have yet."""
        context = TokenContext(work.patient_reference, work.episode_of_care_reference)
        if resend:
            present: set[EntryIdentity] = set()
            for identity in work.identities:
                found = self._transport.find(
                    identity.resource_type, identity.system, identity.value, context
                )
                if found.kind != "ok":
                    return SendOutcome(found.kind, None, f"search: {found.reason}")
                if found.matches:
                    present.add(identity)
            if present:
                log.info("fhir.found_on_resend count=%d", len(present))
                work = work.without(present)
                if not work.entries:
                    return SendOutcome("sent", None, "found")
        return self._transport.submit(work.parameters, context)

    def _invalidate(self, work: Invalidation) -> SendOutcome:
        context = TokenContext(work.patient_reference, work.episode_of_care_reference)
        identity = work.identity
        found = self._transport.find(
            identity.resource_type, identity.system, identity.value, context
        )
        if found.kind != "ok":
            return SendOutcome(found.kind, None, f"search: {found.reason}")
        if not found.matches:
            # sent, so it is there: not yet visible, or under another identifier system
            return SendOutcome("retry", None, "sent observation not found")
        reference, version = found.matches[0]
        body = set_measurement_validity_parameters(
            measurement=reference,
            version=version,
            patient_reference=work.patient_reference,
            episode_of_care_reference=work.episode_of_care_reference,
            decision=self._settings.invalidation_decision,
        )
        return self._transport.post(OPERATION_PATH, body, context)

    def refresh_gauges(self) -> None:
        with session_scope(self._engine) as session:
            status = bridge_status(session, limit=1)
        for name in ("pending", "sent", "merged", "skipped", "dead"):
            self._metrics.backlog.labels(name).set(status.counts.get(name, 0))
        for type_, count in status.not_sendable.items():
            self._metrics.not_sendable.labels(type_).set(count)
        age = 0.0
        if status.oldest_pending_at is not None:
            age = max(0.0, (self._clock.now() - status.oldest_pending_at).total_seconds())
        self._metrics.oldest_pending_seconds.set(age)

    def cycle(self, *, full_scan: bool = False) -> CycleResult:
        enqueued, saturated = self.enqueue(full_scan=full_scan)
        result = self.send_due()
        result.enqueued = enqueued
        result.saturated = saturated
        self.refresh_gauges()
        return result
