"""A typed client for Mosquitto's dynamic-security plugin (Mosquitto 2.0, ``$CONTROL``).

The plugin is managed by publishing ``{"commands": [...]}`` to
``$CONTROL/dynamic-security/v1``; it answers ``{"responses": [...]}`` on
``…/v1/response``, one response per command, in order, each echoing the command's
``correlationData``. This client sends one command at a time, waits for the response whose
correlation data is its own, and turns an ``error`` into :class:`DynsecCommandFailed` with
the plugin's text (``"Client already exists"``, ``"Client not found"``, …).

It needs an account with the plugin's admin role (the one ``mosquitto_ctrl dynsec init``
creates). Mosquitto 2.0.11 does not substitute ``%u``/``%c`` in role ACLs, so every
device gets a role of its own with literal topics (:func:`device_role_acls`).
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pust.messaging.mqtt_client import BrokerAddress, MqttConnection, ReceivedMessage
from pust.messaging.topics import INBOUND, DeviceChannel, Topics

log = logging.getLogger(__name__)

CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
RESPONSE_TOPIC = "$CONTROL/dynamic-security/v1/response"

# the plugin's error texts that the callers act on
CLIENT_EXISTS = "Client already exists"
ROLE_EXISTS = "Role already exists"
CLIENT_NOT_FOUND = "Client not found"
ROLE_NOT_FOUND = "Role not found"
ACL_EXISTS = "ACL with this topic already exists"

DEVICE_READS = (DeviceChannel.RECEIPTS, DeviceChannel.PLAN, DeviceChannel.NOTICES)


class DynsecError(Exception):
    """The dynamic-security plugin could not be reached or did not answer."""


class DynsecUnavailable(DynsecError):
    """No connection to the broker, or no response in time: try again later."""


class DynsecCommandFailed(DynsecError):
    """The plugin refused a command; ``error`` is its own text."""

    def __init__(self, command: str, error: str) -> None:
        super().__init__(f"{command}: {error}")
        self.command = command
        self.error = error


class AclType(StrEnum):
    PUBLISH_CLIENT_SEND = "publishClientSend"
    PUBLISH_CLIENT_RECEIVE = "publishClientReceive"
    SUBSCRIBE_LITERAL = "subscribeLiteral"
    SUBSCRIBE_PATTERN = "subscribePattern"
    UNSUBSCRIBE_LITERAL = "unsubscribeLiteral"
    UNSUBSCRIBE_PATTERN = "unsubscribePattern"


@dataclass(frozen=True, slots=True)
class Acl:
    acltype: AclType
    topic: str
    allow: bool = True
    priority: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "acltype": self.acltype.value,
            "topic": self.topic,
            "allow": self.allow,
            "priority": self.priority,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Acl:
        return cls(
            acltype=AclType(data["acltype"]),
            topic=str(data["topic"]),
            allow=bool(data.get("allow", False)),
            priority=int(data.get("priority", 0)),
        )


@dataclass(frozen=True, slots=True)
class BrokerClient:
    """What the plugin knows of one client (``getClient``)."""

    username: str
    clientid: str | None
    disabled: bool
    roles: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DefaultAccess:
    """``setDefaultACLAccess``: what is allowed when no role ACL matches."""

    publish_client_send: bool = False
    publish_client_receive: bool = False
    subscribe: bool = False
    unsubscribe: bool = True

    def as_json(self) -> list[dict[str, Any]]:
        return [
            {"acltype": "publishClientSend", "allow": self.publish_client_send},
            {"acltype": "publishClientReceive", "allow": self.publish_client_receive},
            {"acltype": "subscribe", "allow": self.subscribe},
            {"acltype": "unsubscribe", "allow": self.unsubscribe},
        ]


def device_role_name(device_id: str) -> str:
    return f"pust-device-{device_id}"


def device_role_acls(topics: Topics, device_id: str) -> list[Acl]:
    """Exactly the device's own topics: publish its inbound channels, subscribe to and
    receive its receipts, plan and notices (literal topics: no wildcard, no ``$share``)."""
    acls = [Acl(AclType.PUBLISH_CLIENT_SEND, topics.device(device_id, c)) for c in INBOUND]
    for channel in DEVICE_READS:
        topic = topics.device(device_id, channel)
        acls.append(Acl(AclType.SUBSCRIBE_LITERAL, topic))
        acls.append(Acl(AclType.PUBLISH_CLIENT_RECEIVE, topic))
    return acls


class DynsecClient:
    """Commands to the plugin over one MQTT connection of its own; thread-safe (one
    command at a time)."""

    def __init__(
        self,
        *,
        address: BrokerAddress,
        client_id: str,
        timeout_seconds: float = 5.0,
    ) -> None:
        self._timeout = timeout_seconds
        self._lock = threading.Lock()
        self._waiting: dict[str, threading.Event] = {}
        self._answers: dict[str, dict[str, Any]] = {}
        self._connection = MqttConnection(
            address=address,
            client_id=client_id,
            subscriptions=[(RESPONSE_TOPIC, 1)],
            on_message=self._on_response,
        )

    def start(self, *, wait_seconds: float | None = 10.0) -> DynsecClient:
        self._connection.start(wait_seconds=wait_seconds)
        return self

    def stop(self) -> None:
        self._connection.stop()

    def __enter__(self) -> DynsecClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def is_connected(self) -> bool:
        return self._connection.is_connected

    def wait_connected(self, timeout: float) -> None:
        self._connection.wait_connected(timeout)

    @property
    def fatal_error(self) -> Exception | None:
        return self._connection.fatal_error

    # the raw exchange ------------------------------------------------------------------

    def execute(self, command: str, **fields: Any) -> dict[str, Any]:
        """Send one command and return its response (``data`` and all); raises
        :class:`DynsecCommandFailed` when the plugin answers with an error."""
        if not self._connection.is_connected:
            raise DynsecUnavailable("not connected to the broker")
        correlation = uuid.uuid4().hex
        body = {"commands": [{"command": command, "correlationData": correlation, **fields}]}
        arrived = threading.Event()
        with self._lock:
            self._waiting[correlation] = arrived
            try:
                info = self._connection.publish(CONTROL_TOPIC, json.dumps(body), qos=1)
                if info.rc != 0:
                    raise DynsecUnavailable(f"publish refused rc={info.rc}")
                if not arrived.wait(self._timeout):
                    raise DynsecUnavailable(f"{command}: no response in {self._timeout}s")
                answer = self._answers.pop(correlation)
            finally:
                self._waiting.pop(correlation, None)
                self._answers.pop(correlation, None)
        error = answer.get("error")
        if error:
            raise DynsecCommandFailed(command, str(error))
        return answer

    def _on_response(self, message: ReceivedMessage) -> None:
        try:
            responses = json.loads(message.payload)["responses"]
        except (ValueError, KeyError, TypeError):
            log.warning("dynsec.unreadable_response")
            return
        for response in responses:
            if not isinstance(response, dict):
                continue
            correlation = response.get("correlationData")
            waiting = self._waiting.get(str(correlation))
            if waiting is None:
                continue  # another admin's answer, or one we stopped waiting for
            self._answers[str(correlation)] = response
            waiting.set()

    # clients ---------------------------------------------------------------------------

    def create_client(
        self,
        username: str,
        *,
        password: str | None = None,
        clientid: str | None = None,
        roles: Sequence[str] = (),
        textname: str | None = None,
    ) -> None:
        fields: dict[str, Any] = {
            "username": username,
            "roles": [{"rolename": r, "priority": -1} for r in roles],
        }
        if password is not None:
            fields["password"] = password
        if clientid is not None:
            fields["clientid"] = clientid
        if textname is not None:
            fields["textname"] = textname
        self.execute("createClient", **fields)

    def delete_client(self, username: str) -> None:
        self.execute("deleteClient", username=username)

    def set_client_password(self, username: str, password: str) -> None:
        self.execute("setClientPassword", username=username, password=password)

    def set_client_id(self, username: str, clientid: str | None) -> None:
        fields: dict[str, Any] = {"username": username}
        if clientid is not None:
            fields["clientid"] = clientid
        self.execute("setClientId", **fields)

    def enable_client(self, username: str) -> None:
        self.execute("enableClient", username=username)

    def disable_client(self, username: str) -> None:
        """Refuse the client's logins from now on; a connected one is disconnected at once."""
        self.execute("disableClient", username=username)

    def add_client_role(self, username: str, rolename: str, *, priority: int = -1) -> None:
        self.execute("addClientRole", username=username, rolename=rolename, priority=priority)

    def remove_client_role(self, username: str, rolename: str) -> None:
        self.execute("removeClientRole", username=username, rolename=rolename)

    def get_client(self, username: str) -> BrokerClient | None:
        """The client, or None when the plugin has none of that name."""
        try:
            answer = self.execute("getClient", username=username)
        except DynsecCommandFailed as exc:
            if exc.error == CLIENT_NOT_FOUND:
                return None
            raise
        data = answer.get("data", {}).get("client", {})
        return BrokerClient(
            username=str(data.get("username", username)),
            clientid=data.get("clientid") or None,
            disabled=bool(data.get("disabled", False)),
            roles=tuple(str(r["rolename"]) for r in data.get("roles", []) if "rolename" in r),
        )

    def list_clients(self) -> list[str]:
        """Every client's username (the plugin answers in pages; this reads them all)."""
        names: list[str] = []
        offset, page = 0, 500
        while True:
            answer = self.execute("listClients", verbose=False, count=page, offset=offset)
            batch = [str(n) for n in answer.get("data", {}).get("clients", [])]
            names.extend(batch)
            if len(batch) < page:
                return names
            offset += page

    # roles -----------------------------------------------------------------------------

    def create_role(self, rolename: str, acls: Iterable[Acl] = ()) -> None:
        self.execute("createRole", rolename=rolename, acls=[a.as_json() for a in acls])

    def delete_role(self, rolename: str) -> None:
        self.execute("deleteRole", rolename=rolename)

    def add_role_acl(self, rolename: str, acl: Acl) -> None:
        self.execute("addRoleACL", rolename=rolename, **acl.as_json())

    def remove_role_acl(self, rolename: str, acl: Acl) -> None:
        self.execute("removeRoleACL", rolename=rolename, acltype=acl.acltype.value, topic=acl.topic)

    def get_role(self, rolename: str) -> list[Acl] | None:
        """The role's ACLs, or None when there is no such role."""
        try:
            answer = self.execute("getRole", rolename=rolename)
        except DynsecCommandFailed as exc:
            if exc.error == ROLE_NOT_FOUND:
                return None
            raise
        acls = answer.get("data", {}).get("role", {}).get("acls", [])
        return [Acl.from_json(a) for a in acls if isinstance(a, dict)]

    def set_default_acl_access(self, access: DefaultAccess) -> None:
        self.execute("setDefaultACLAccess", acls=access.as_json())

    # idempotent helpers ----------------------------------------------------------------

    def ensure_role(self, rolename: str, acls: Sequence[Acl]) -> bool:
        """Make the role have exactly ``acls``; returns True when something changed."""
        current = self.get_role(rolename)
        if current is None:
            try:
                self.create_role(rolename, acls)
                return True
            except DynsecCommandFailed as exc:
                if exc.error != ROLE_EXISTS:
                    raise
                current = self.get_role(rolename) or []  # created meanwhile by another
        wanted = {(a.acltype, a.topic): a for a in acls}
        have = {(a.acltype, a.topic): a for a in current}
        changed = False
        for key, acl in have.items():
            if wanted.get(key) != acl:
                self.remove_role_acl(rolename, acl)
                changed = True
        for key, acl in wanted.items():
            if have.get(key) != acl:
                try:
                    self.add_role_acl(rolename, acl)
                except DynsecCommandFailed as exc:
                    if exc.error != ACL_EXISTS:
                        raise
                changed = True
        return changed
