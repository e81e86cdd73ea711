"""The embedded MQTT broker for the one-command demo (amqtt, MQTT 3.1.1).

Production uses Mosquitto (deploy/mosquitto). The embedded broker runs with authentication
on: amqtt silently drops persistent sessions of anonymous clients, and a tablet must never
be able to publish as another tablet. Devices log in with their device id and the password
enrolled for them (argon2 hash in ``device.mqtt_password_hash``); the backend services use
the service account from the settings.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from amqtt.broker import Broker
from amqtt.contexts import Action
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.session import Session

from pust.messaging.topics import INBOUND, DeviceChannel, Topics

log = logging.getLogger(__name__)

CredentialCheck = Callable[[str, str], bool]

_DEVICE_READS = (DeviceChannel.RECEIPTS, DeviceChannel.PLAN, DeviceChannel.NOTICES)


@dataclass(frozen=True, slots=True)
class BrokerPolicy:
    """Who may connect, and which accounts are the backend's own (full topic access)."""

    check_credentials: CredentialCheck
    service_usernames: frozenset[str]
    topics: Topics

    def is_service(self, username: str) -> bool:
        """A service account, or one of its per-process logins (``account:client-id``)."""
        return username in self.service_usernames or username.partition(":")[0] in (
            self.service_usernames if ":" in username else ()
        )

    def may_publish(self, username: str, topic: str) -> bool:
        if self.is_service(username):
            return True
        return any(topic == self.topics.device(username, c) for c in INBOUND)

    def may_subscribe(self, username: str, topic: str) -> bool:
        if self.is_service(username):
            return True
        return any(topic == self.topics.device(username, c) for c in _DEVICE_READS)

    def may_use_client_id(self, username: str, client_id: str) -> bool:
        """Each login is bound to its client id, as on Mosquitto (dynamic security): a
        tablet connects only as its device id, a service process (``account:client-id``)
        only as its own id, so nobody can take over another's session."""
        account, separator, bound = username.partition(":")
        if separator and account in self.service_usernames:
            return client_id == bound
        if self.is_service(username):
            return True
        return client_id == username

    def may_receive(self, username: str, topic: str) -> bool:
        """A message on ``topic`` may go to this client (a tablet: its own three topics)."""
        return self.may_subscribe(username, topic)


class PustAuthPlugin(BaseAuthPlugin):  # type: ignore[misc]
    @dataclass
    class Config:
        policy: Any = None

    async def authenticate(self, *, session: Session) -> bool | None:
        policy: BrokerPolicy = self.config.policy
        username = session.username or ""
        password = session.password or ""
        if not username or not password:
            return False
        if not policy.may_use_client_id(username, session.client_id or ""):
            log.warning("broker.client_id_refused client_id=%s", session.client_id)
            return False
        loop = asyncio.get_running_loop()
        # argon2 verification is deliberately slow: keep it off the broker's event loop
        allowed = await loop.run_in_executor(None, policy.check_credentials, username, password)
        if not allowed:
            log.warning("broker.auth_refused client_id=%s", session.client_id)
        return bool(allowed)


class PustTopicPlugin(BaseTopicPlugin):  # type: ignore[misc]
    @dataclass
    class Config:
        policy: Any = None

    async def topic_filtering(
        self,
        *,
        session: Session | None = None,
        topic: str | None = None,
        action: Action | None = None,
    ) -> bool | None:
        policy: BrokerPolicy = self.config.policy
        if session is None or topic is None:
            return False
        username = session.username or ""
        if action == Action.PUBLISH:
            return policy.may_publish(username, topic)
        if action == Action.SUBSCRIBE:
            return policy.may_subscribe(username, topic)
        if action == Action.RECEIVE:
            return policy.may_receive(username, topic)
        return True


class _PustBroker(Broker):  # type: ignore[misc]
    """amqtt 0.12.1 with its retained messages kept to their own subscribers.

    On every CONNECT amqtt sends the new client the retained messages matching *any*
    client's subscription (``for topic in self._subscriptions``: the whole broker's, at
    QoS 0), and it never asks the topic plugin about retained messages: a tablet that
    connected got every other tablet's retained plan and presence (and pust's clients
    logged them as ``mqtt.unsolicited_message mid=0``). Here a retained message goes only
    to a session that has a matching subscription of its own, and only where the policy
    lets that client receive the topic."""

    async def _publish_retained_messages_for_subscription(
        self, subscription: tuple[str, int], session: Session
    ) -> None:
        topic_filter, qos = subscription
        subscribers = self._subscriptions.get(topic_filter, [])
        own = [q for s, q in subscribers if s.client_id == session.client_id]
        handler = self._get_handler(session)
        if not own or handler is None:
            return
        qos = max(own[0], qos)
        tasks = []
        for topic, retained in list(self._retained_messages.items()):
            if not self._matches(topic, topic_filter):
                continue
            if not await self._topic_filtering(session, topic, Action.RECEIVE):
                continue
            tasks.append(
                asyncio.ensure_future(
                    handler.mqtt_publish(
                        retained.topic, retained.data, min(qos, retained.qos or qos), retain=True
                    )
                )
            )
        if tasks:
            await asyncio.wait(tasks)


@dataclass
class EmbeddedBroker:
    """Runs amqtt in its own thread with its own event loop."""

    host: str
    port: int
    policy: BrokerPolicy
    session_expiry_seconds: int = 7 * 24 * 3600
    _thread: threading.Thread | None = field(default=None, init=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, init=False)
    _stop: asyncio.Event | None = field(default=None, init=False)
    _started: threading.Event = field(default_factory=threading.Event, init=False)
    _error: BaseException | None = field(default=None, init=False)

    def _config(self) -> dict[str, Any]:
        return {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "session_expiry_interval": self.session_expiry_seconds,
            "plugins": {
                "pust.messaging.embedded_broker.PustAuthPlugin": {"policy": self.policy},
                "pust.messaging.embedded_broker.PustTopicPlugin": {"policy": self.policy},
            },
        }

    def start(self, timeout: float = 15.0) -> None:
        self._thread = threading.Thread(target=self._run, name="embedded-broker", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout):
            raise RuntimeError("the embedded MQTT broker did not start in time")
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to start()'s caller
            self._error = exc
            self._started.set()
        finally:
            loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        broker = _PustBroker(self._config())
        await broker.start()
        self._started.set()
        log.info("broker.started port=%d", self.port)
        await self._stop.wait()
        await broker.shutdown()

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout)
