"""What pust keeps on a Mosquitto with dynamic security, and how it gets there (idempotent).

- the default ACL access: everything denied but unsubscribing (a client may do only what a
  role of its own allows: no ``#``, no ``$SYS/#``, no ``$share/…``);
- one role for the backend services (``pust-service``: the topic root, and ingest's shared
  subscription group) and one login per service process, ``account:client-id``, bound to
  that client id;
- one client per tablet, username = client id = device id, with a role of its own
  (``pust-device-<id>``, literal topics: Mosquitto 2.0.11 substitutes no ``%u`` in roles),
  enabled while the registry says the tablet is active and has a password.

:func:`apply_device` moves one device to the state the registry wants and returns what it
changed (drift); :func:`provision_services` does the same for the service accounts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from pust.messaging.dynsec import (
    CLIENT_EXISTS,
    Acl,
    AclType,
    BrokerClient,
    DefaultAccess,
    DynsecClient,
    DynsecCommandFailed,
    device_role_acls,
    device_role_name,
)
from pust.messaging.topics import Topics

SERVICE_ROLE = "pust-service"


class Drift(StrEnum):
    """How a device's broker client differed from the registry (metric label ``kind``)."""

    MISSING = "missing"  # no client for an active or revoked device
    ROLE = "role"  # its role or its ACLs differed
    CLIENT_ID = "client_id"  # not bound to its device id
    ENABLED = "enabled"  # enabled although revoked, or disabled although active
    UNKNOWN = "unknown"  # a broker client the registry does not know (reported only)


@dataclass(frozen=True, slots=True)
class DesiredDevice:
    """A device as the registry wants it on the broker."""

    device_id: str
    enabled: bool
    password: str | None  # None: leave the broker's password as it is


@dataclass(frozen=True, slots=True)
class ServiceLogin:
    username: str
    client_id: str


def service_role_acls(topics: Topics, shared_groups: Sequence[str]) -> list[Acl]:
    everything = f"{topics.root}/#"
    acls = [
        Acl(AclType.PUBLISH_CLIENT_SEND, everything),
        Acl(AclType.PUBLISH_CLIENT_RECEIVE, everything),
        Acl(AclType.SUBSCRIBE_PATTERN, everything),
    ]
    acls += [Acl(AclType.SUBSCRIBE_PATTERN, f"$share/{g}/{everything}") for g in shared_groups]
    return acls


def provision_services(
    dynsec: DynsecClient,
    *,
    topics: Topics,
    logins: Sequence[ServiceLogin],
    password: str,
    shared_groups: Sequence[str],
) -> list[str]:
    """Default deny, the service role and one bound login per service process; returns
    what was created or changed (empty: the broker was as it should be)."""
    changes: list[str] = []
    dynsec.set_default_acl_access(DefaultAccess())
    if dynsec.ensure_role(SERVICE_ROLE, service_role_acls(topics, shared_groups)):
        changes.append(f"role {SERVICE_ROLE}")
    for login in logins:
        current = dynsec.get_client(login.username)
        if current is None:
            dynsec.create_client(
                login.username,
                password=password,
                clientid=login.client_id,
                roles=[SERVICE_ROLE],
                textname="pust service",
            )
            changes.append(f"client {login.username} created")
            continue
        # the password is always set again: the broker cannot tell whether it matches
        dynsec.set_client_password(login.username, password)
        changes += [
            f"client {login.username}: {d.value}"
            for d in _converge(dynsec, current, login.client_id, SERVICE_ROLE, enabled=True)
        ]
    return changes


def apply_device(dynsec: DynsecClient, topics: Topics, device: DesiredDevice) -> list[Drift]:
    """Make the broker's client for ``device`` what the registry wants; returns the drift
    found. The password is set whenever the registry has one (the broker cannot say whether
    it matches), and that is not counted as drift."""
    drift: list[Drift] = []
    role = device_role_name(device.device_id)
    if dynsec.ensure_role(role, device_role_acls(topics, device.device_id)):
        drift.append(Drift.ROLE)
    current = dynsec.get_client(device.device_id)
    if current is None:
        try:
            dynsec.create_client(
                device.device_id,
                password=device.password,
                clientid=device.device_id,
                roles=[role],
                textname="pust tablet",
            )
        except DynsecCommandFailed as exc:
            # another applier (the reconcile job, a second alerts process) was quicker
            if exc.error != CLIENT_EXISTS:
                raise
            current = dynsec.get_client(device.device_id)
        if current is None:
            if not device.enabled:
                dynsec.disable_client(device.device_id)
            drift.append(Drift.MISSING)
            return drift
    if device.password is not None:
        dynsec.set_client_password(device.device_id, device.password)
    drift += _converge(dynsec, current, device.device_id, role, enabled=device.enabled)
    return drift


def _converge(
    dynsec: DynsecClient, current: BrokerClient, client_id: str, role: str, *, enabled: bool
) -> list[Drift]:
    drift: list[Drift] = []
    if current.clientid != client_id:
        dynsec.set_client_id(current.username, client_id)
        drift.append(Drift.CLIENT_ID)
    if role not in current.roles:
        dynsec.add_client_role(current.username, role)
        drift.append(Drift.ROLE)
    for extra in current.roles:
        if extra != role:
            dynsec.remove_client_role(current.username, extra)
            drift.append(Drift.ROLE)
    if enabled and current.disabled:
        dynsec.enable_client(current.username)
        drift.append(Drift.ENABLED)
    elif not enabled and not current.disabled:
        dynsec.disable_client(current.username)  # disconnects a connected tablet at once
        drift.append(Drift.ENABLED)
    return drift
