"""The broker side of the device registry (Mosquitto's dynamic security): the outbox
channel ``broker`` and the reconcile job.

- :class:`BrokerChannel` delivers a ``broker`` outbox row (enrol, pair, revoke, rotate) by
  bringing the device's broker client in line with its *current* row; a broker that is
  down makes the row wait and retry (the outbox's back-off), so it catches up.
- :class:`BrokerReconciler` (every ``PUST_ALERTS_BROKER_RECONCILE_SECONDS``) does the same
  for every device, counts what differed per kind (``pust_broker_drift_devices{kind}``)
  and records the run for the administration page. Broker clients the registry does not
  know are counted (``unknown``) but left alone: they may be an operator's.

Without a dynamic-security admin account (the embedded broker, which reads the registry
itself) the channel has nothing to do and the reconciler does not run.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Collection
from typing import Any

from prometheus_client import Gauge
from sqlalchemy import Engine

from pust.db.broker_registry import (
    desired_device,
    desired_devices,
    record_broker_state,
    record_reconcile_run,
)
from pust.db.device_credentials import PasswordSeal
from pust.db.engine import session_scope
from pust.domain.clock import Clock
from pust.messaging.broker_provisioning import DesiredDevice, Drift, apply_device
from pust.messaging.dynsec import DynsecClient, DynsecError
from pust.messaging.topics import Topics
from services.alerts.notifications import DeliveryError, PermanentDeliveryError

log = logging.getLogger(__name__)


def _state(device: DesiredDevice) -> str:
    return "enabled" if device.enabled else "disabled"


class BrokerChannel:
    name = "broker"

    def __init__(
        self,
        *,
        engine: Engine,
        dynsec: DynsecClient | None,
        topics: Topics,
        seal: PasswordSeal,
        clock: Clock,
    ) -> None:
        self._engine = engine
        self._dynsec = dynsec
        self._topics = topics
        self._seal = seal
        self._clock = clock

    def send(
        self, *, destination: str, payload: dict[str, Any], delivery_id: str, retain: bool = False
    ) -> None:
        if self._dynsec is None:
            return  # the embedded broker reads the registry itself
        device_id = str(payload.get("device_id", destination))
        with session_scope(self._engine) as session:
            device = desired_device(session, device_id, self._seal)
        if device is None:
            raise PermanentDeliveryError(f"broker: no device {device_id}")
        try:
            drift = apply_device(self._dynsec, self._topics, device)
        except DynsecError as exc:
            raise DeliveryError(f"broker: {exc}") from exc
        with session_scope(self._engine) as session:
            record_broker_state(
                session, device_id=device_id, state=_state(device), now=self._clock.now()
            )
        log.info(
            "broker.device_synced device_id=%s enabled=%s drift=%s",
            device_id,
            device.enabled,
            ",".join(drift) or "-",
        )


class BrokerReconciler:
    def __init__(
        self,
        *,
        engine: Engine,
        dynsec: DynsecClient,
        topics: Topics,
        seal: PasswordSeal,
        clock: Clock,
        own_accounts: Collection[str],
        drift_gauge: Gauge,
    ) -> None:
        self._engine = engine
        self._dynsec = dynsec
        self._topics = topics
        self._seal = seal
        self._clock = clock
        self._own_accounts = frozenset(own_accounts)
        self.drift_gauge = drift_gauge  # pust_broker_drift_devices{kind}

    def run_once(self) -> dict[str, int]:
        """Compare and repair every device; returns the drift per kind (also recorded)."""
        started = self._clock.now()
        counts: Counter[str] = Counter()
        states: dict[str, str] = {}
        error: str | None = None
        with session_scope(self._engine) as session:
            wanted = desired_devices(session, self._seal)
        try:
            known = set(self._dynsec.list_clients())
            for device in wanted:
                drift = apply_device(self._dynsec, self._topics, device)
                for kind in set(drift):
                    counts[kind.value] += 1
                states[device.device_id] = _state(device)
            registry_ids = {d.device_id for d in wanted}
            unknown = [
                name
                for name in known - registry_ids - self._own_accounts
                if ":" not in name  # a service process's login
            ]
            counts[Drift.UNKNOWN.value] = len(unknown)
        except DynsecError as exc:
            error = str(exc)
            log.warning("broker.reconcile_failed error=%s", exc)
        finished = self._clock.now()
        result = {d.value: counts.get(d.value, 0) for d in Drift}
        with session_scope(self._engine) as session:
            for device_id, state in states.items():
                record_broker_state(session, device_id=device_id, state=state, now=finished)
            record_reconcile_run(
                session,
                started_at=started,
                finished_at=finished,
                drift=result,
                error=error,
            )
        if error is None:
            for label, value in result.items():
                self.drift_gauge.labels(kind=label).set(value)
            repaired = sum(v for k, v in result.items() if k != Drift.UNKNOWN.value)
            log.info("broker.reconciled devices=%d repaired=%d", len(wanted), repaired)
        return result
