"""A hostile-or-honest tablet on raw paho, recording what the broker answers: CONNACK,
SUBACK reason codes, disconnects and messages, each awaitable with a bounded wait."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

WAIT = 5.0


@dataclass
class Outcome:
    event: threading.Event = field(default_factory=threading.Event)
    value: object = None

    def set(self, value: object) -> None:
        self.value = value
        self.event.set()

    def wait(self, timeout: float = WAIT) -> object:
        if not self.event.wait(timeout):
            raise AssertionError(f"no answer from the broker within {timeout}s")
        return self.value


class RawTablet:
    def __init__(
        self, port: int, *, username: str, password: str, client_id: str, protocol: str
    ) -> None:
        self.port = port
        self.protocol = paho.MQTTv5 if protocol == "5" else paho.MQTTv311
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=self.protocol
        )
        self.client.username_pw_set(username, password)
        self.connected = Outcome()
        self.disconnected = Outcome()
        self._subacks: dict[int, Outcome] = {}
        self.messages: list[paho.MQTTMessage] = []
        self.message_arrived = threading.Condition()
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message

    def connect(self) -> ReasonCode:
        """Connect once (no automatic reconnect); returns the CONNACK reason code."""
        self.client.connect("127.0.0.1", self.port, keepalive=30)
        self.client.loop_start()
        code = self.connected.wait()
        assert isinstance(code, ReasonCode)
        return code

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def subscribe(self, topic_filter: str) -> bool:
        """True when the broker granted the subscription."""
        _rc, mid = self.client.subscribe(topic_filter, qos=1)
        codes = self._subacks.setdefault(mid, Outcome()).wait()
        assert isinstance(codes, list)
        return not codes[0].is_failure

    def publish(self, topic: str, payload: bytes) -> paho.MQTTMessageInfo:
        info = self.client.publish(topic, payload, qos=1)
        info.wait_for_publish(WAIT)
        return info

    def wait_message(self, topic: str, timeout: float = WAIT) -> paho.MQTTMessage:
        """The first message that arrived on ``topic`` (waiting at most ``timeout``)."""
        with self.message_arrived:
            found = self.message_arrived.wait_for(
                lambda: any(m.topic == topic for m in self.messages), timeout
            )
            if not found:
                raise AssertionError(f"no message on {topic} within {timeout}s")
            return next(m for m in self.messages if m.topic == topic)

    def _on_connect(
        self,
        client: paho.Client,
        userdata: object,
        flags: paho.ConnectFlags,
        code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self.connected.set(code)
        if code.is_failure:
            client.disconnect()

    def _on_disconnect(
        self,
        client: paho.Client,
        userdata: object,
        flags: paho.DisconnectFlags,
        code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self.disconnected.set(code)
        client.reconnect_delay_set(3600, 3600)  # no automatic reconnect: the test decides

    def _on_subscribe(
        self,
        client: paho.Client,
        userdata: object,
        mid: int,
        codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        # a SUBACK can come before subscribe() returned its mid
        self._subacks.setdefault(mid, Outcome()).set(codes)

    def _on_message(self, client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        with self.message_arrived:
            self.messages.append(message)
            self.message_arrived.notify_all()
