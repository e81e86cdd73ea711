"""The one seam to paho-mqtt 2.x shared by every service (and the simulator's tablets).

What it guarantees, learned from home-assistant's MQTT component:
- it keeps its own subscription list and re-subscribes on every connect (a broker that lost
  the session must not leave us deaf);
- a received message is a frozen dataclass, decoded by the caller;
- it stops reconnecting on an authentication failure and says so once;
- with ``manual_ack`` the caller acks a message only when it has done its work
  (for ingest: after the database commit).

MQTT 5 by default; ``?protocol=3.1.1`` in the URL selects MQTT 3.1.1 (the embedded amqtt
broker speaks only 3.1.1).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

log = logging.getLogger(__name__)

MQTT_V5 = 5
MQTT_V311 = 4
_AUTH_FAILURE_CODES = frozenset({134, 135})  # bad user name or password, not authorised
_PLAIN_REASONS = frozenset({0, 16})  # success; success, but nobody subscribes to the topic
_READ_AHEAD = 64 * 1024
_WRITE_COALESCE = 64 * 1024  # bytes of small packets joined into one send()
_PUBLISH = 0x30
_PUBACK = 0x40


class _Info(paho.MQTTMessageInfo):
    """paho's ``MQTTMessageInfo`` with its ``threading.Condition`` made when someone waits
    for it: paho builds one per message sent or received, a lock and a condition each, and
    almost nobody waits (ingest's receipts never do)."""

    __slots__ = ("_lazy",)
    _creating = threading.Lock()

    def __init__(self, mid: int) -> None:  # what paho's does, without the condition
        self.mid = mid
        self._published = False
        self.rc = MQTTErrorCode.MQTT_ERR_SUCCESS
        self._iterpos = 0
        self._lazy: threading.Condition | None = None

    @property
    def _condition(self) -> threading.Condition:  # type: ignore[override]
        if self._lazy is None:
            with self._creating:
                if self._lazy is None:
                    self._lazy = threading.Condition()
        return self._lazy

    def _set_as_published(self) -> None:
        # published first, then look for a waiter: one that makes its condition after this
        # look finds the message published before it waits
        self._published = True
        condition = self._lazy
        if condition is not None:
            with condition:
                condition.notify_all()


class _Message(paho.MQTTMessage):
    """paho's ``MQTTMessage`` with an :class:`_Info`."""

    __slots__ = ()

    def __init__(self, mid: int = 0, topic: bytes = b"") -> None:
        self.timestamp = 0.0
        self.state = paho.mqtt_ms_invalid
        self.dup = False
        self.mid = mid
        self._topic = topic
        self.payload = b""
        self.qos = 0
        self.retain = False
        self.info = _Info(mid)
        self.properties = None


class _Client(paho.Client):
    """paho's client without the per-packet cost that MQTT 5 adds in paho 2.x.

    paho builds a fresh ``Properties`` (two dicts of every property name) for each PUBLISH
    it receives, a ``ReasonCode`` and a ``Properties`` for each PUBACK, and walks every
    message in flight on each PUBACK looking for queued ones: together more CPU than the
    rest of a message's MQTT handling. The common packets (a PUBLISH without properties, a
    successful PUBACK/PUBCOMP without properties) take a short path here that does what
    paho does with them; anything else (properties, QoS 2, MQTT 3.1.1 publishes, paho's
    logging switched on) goes through paho's own code unchanged.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # shared by every fast-path packet; nothing in pust reads or changes them
        self._no_publish_properties: Properties | None = None
        self._acked: dict[tuple[str, int], tuple[ReasonCode, Properties]] = {}
        # a byte to wake paho's loop from select() was sent and the loop has not yet looked
        # at what there is to write since (see _packet_queue)
        self._wake_pending = False
        # what one recv() brought beyond what paho asked for, and from which socket
        self._read_ahead = b""
        self._read_ahead_at = 0
        self._read_ahead_from: object = None
        self._finishing_read_ahead = False

    # reading: paho asks the socket for one byte (the packet type), then one byte at a time
    # (the length), then the rest, so every packet costs three system calls, each releasing
    # and taking the GIL. One recv() of up to 64 KiB serves many packets instead; loop_read
    # works through all of it before paho's loop waits in select() again (select cannot see
    # what is already here).

    def _sock_recv(self, bufsize: int) -> bytes:
        if self._read_ahead_from is not self._sock or self._read_ahead_at >= len(self._read_ahead):
            if self._finishing_read_ahead:  # back to paho's loop, which writes, then selects
                raise BlockingIOError
            data = super()._sock_recv(max(bufsize, _READ_AHEAD))
            if len(data) <= bufsize:  # all of it wanted (or b"": the broker closed)
                self._read_ahead, self._read_ahead_at = b"", 0
                return data
            self._read_ahead, self._read_ahead_at, self._read_ahead_from = data, 0, self._sock
        start = self._read_ahead_at
        self._read_ahead_at = start + bufsize
        return self._read_ahead[start : start + bufsize]

    def _read_ahead_left(self) -> bool:
        return self._read_ahead_from is self._sock and self._read_ahead_at < len(self._read_ahead)

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        rc = super().loop_read(max_packets)
        # the packets already read, but no new read: under a steady stream that would keep
        # paho from writing (acks, receipts, pings) for as long as the stream lasts
        self._finishing_read_ahead = True
        try:
            while rc == MQTTErrorCode.MQTT_ERR_SUCCESS and self._read_ahead_left():
                rc = super().loop_read(max_packets)
        finally:
            self._finishing_read_ahead = False
        return rc

    def _sock_close(self) -> None:
        self._read_ahead, self._read_ahead_at, self._read_ahead_from = b"", 0, None
        super()._sock_close()

    def _handle_publish(self) -> MQTTErrorCode:
        header = self._in_packet["command"]
        packet = self._in_packet["packet"]
        qos = (header & 0x06) >> 1
        if (
            self._protocol != paho.MQTTv5
            or qos == 2
            or self._logger is not None
            or self._on_log is not None
        ):
            return super()._handle_publish()
        topic_end = 2 + int.from_bytes(packet[:2], "big")
        properties_at = topic_end + 2 if qos else topic_end
        if topic_end == 2 or len(packet) <= properties_at or packet[properties_at] != 0:
            # a topic alias, properties, or a malformed packet: paho's own path
            return super()._handle_publish()
        mid = int.from_bytes(packet[topic_end:properties_at], "big") if qos else 0
        message = _Message(mid=mid, topic=bytes(packet[2:topic_end]))
        message.dup = (header & 0x08) != 0
        message.qos = qos
        message.retain = (header & 0x01) != 0
        if self._no_publish_properties is None:
            self._no_publish_properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        message.properties = self._no_publish_properties
        message.payload = bytes(packet[properties_at + 1 :])
        message.timestamp = paho.time_func()
        self._deliver(message)
        if qos == 1 and not self._manual_ack:
            return self._send_puback(mid)
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def _deliver(self, message: paho.MQTTMessage) -> None:
        """paho's ``_handle_on_message`` without its per-message topic match and callback
        lock when no ``message_callback_add`` filter exists (pust adds none): on_message."""
        if self._on_message_filtered._root._children:
            self._handle_on_message(message)
            return
        on_message = self._on_message
        if on_message is None:
            return
        with self._in_callback_mutex:
            try:
                on_message(self, self._userdata, message)
            except Exception as err:
                self._easy_log(paho.MQTT_LOG_ERR, "Caught exception in on_message: %s", err)
                if not self.suppress_exceptions:
                    raise

    def _handle_pubackcomp(self, cmd: Literal["PUBACK", "PUBCOMP"]) -> MQTTErrorCode:
        packet = self._in_packet["packet"]
        # success (0, or 16 "no matching subscribers") without properties: the packet id
        # alone, or with the reason code, or with it and a zero property length
        reason = packet[2] if len(packet) > 2 else 0
        plain = len(packet) == 2 or (
            self._protocol == paho.MQTTv5
            and (reason == 0 or (reason in _PLAIN_REASONS and cmd == "PUBACK"))
            and (len(packet) == 3 or (len(packet) == 4 and packet[3] == 0))
        )
        if not plain or self._logger is not None or self._on_log is not None:
            return super()._handle_pubackcomp(cmd)
        mid = int.from_bytes(packet[:2], "big")
        with self._out_message_mutex:
            if mid in self._out_messages:
                key = (cmd, reason)
                if key not in self._acked:
                    packet_type = PacketTypes.PUBACK if cmd == "PUBACK" else PacketTypes.PUBCOMP
                    self._acked[key] = (
                        ReasonCode(packet_type, identifier=reason),
                        Properties(packet_type),  # type: ignore[no-untyped-call]
                    )
                code, properties = self._acked[key]
                return self._do_on_publish(mid, code, properties)
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    # writing: paho writes a byte to its socket pair on every packet queued from another
    # thread (a system call, and a wake-up of the network thread for a single packet), and
    # then sends each packet with a send() of its own. Ingest's writer queues two packets per
    # message (the receipt and the ack) in a burst after each commit: one wake-up per burst
    # and one send() per 64 KiB here.

    def want_write(self) -> bool:
        # paho's loop asks this before every select(): from here on it sees what is queued
        self._wake_pending = False
        return len(self._out_packet) > 0

    def _packet_queue(
        self,
        command: int,
        packet: bytes | bytearray,
        mid: int,
        qos: int,
        info: paho.MQTTMessageInfo | None = None,
    ) -> MQTTErrorCode:
        if self._thread is None or self._on_socket_register_write is not None:
            return super()._packet_queue(command, packet, mid, qos, info)
        self._out_packet.append(
            {
                "command": command,
                "mid": mid,
                "qos": qos,
                "pos": 0,
                "to_process": len(packet),
                "packet": packet,
                "info": info,
            }
        )
        # appended before the flag is read: a loop that has not yet asked want_write() since
        # the last wake-up byte will see this packet when it does
        if not self._wake_pending and self._sockpairW is not None:
            self._wake_pending = True
            with contextlib.suppress(BlockingIOError):
                self._sockpairW.send(paho.sockpair_data)
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def _packet_write(self) -> MQTTErrorCode:
        out = self._out_packet
        while len(out) > 1 and self._logger is None and self._on_log is None:
            joined: list[Any] = []
            size = 0
            # only the network thread takes packets off the left; others append on the right
            while out and size < _WRITE_COALESCE:
                packet = out[0]
                kind = packet["command"] & 0xF0
                if packet["pos"] or not (
                    kind == _PUBACK or (kind == _PUBLISH and packet["qos"] > 0)
                ):
                    break  # a packet paho does something with once written: its own path
                joined.append(out.popleft())
                size += packet["to_process"]
            if len(joined) < 2:
                out.extendleft(reversed(joined))
                break
            try:
                written = self._sock_send(b"".join(p["packet"] for p in joined))
            except (AttributeError, ValueError):
                out.extendleft(reversed(joined))
                return MQTTErrorCode.MQTT_ERR_SUCCESS
            except BlockingIOError:
                out.extendleft(reversed(joined))
                return MQTTErrorCode.MQTT_ERR_AGAIN
            except OSError as err:
                out.extendleft(reversed(joined))
                self._easy_log(paho.MQTT_LOG_ERR, "failed to receive on socket: %s", err)
                return MQTTErrorCode.MQTT_ERR_CONN_LOST
            with self._msgtime_mutex:
                self._last_msg_out = paho.time_func()
            for index, packet in enumerate(joined):
                if written < packet["to_process"]:  # a partial write: the rest goes later
                    packet["pos"] += written
                    packet["to_process"] -= written
                    out.extendleft(reversed(joined[index:]))
                    return MQTTErrorCode.MQTT_ERR_AGAIN
                written -= packet["to_process"]
                packet["pos"] += packet["to_process"]
                packet["to_process"] = 0
        return super()._packet_write()

    def publish(
        self,
        topic: str,
        payload: paho.PayloadType = None,
        qos: int = 0,
        retain: bool = False,
        properties: Properties | None = None,
    ) -> paho.MQTTMessageInfo:
        """paho's publish, for a QoS 1 message of bytes without properties with an
        :class:`_Message` (and its lazy condition); anything else: paho's own."""
        if (
            qos != 1
            or properties is not None
            or type(payload) is not bytes
            or not topic
            or "+" in topic
            or "#" in topic
            or len(payload) > 268435455
        ):
            return super().publish(topic, payload, qos, retain, properties)
        topic_bytes = topic.encode("utf-8")
        if len(topic_bytes) > 65535:
            return super().publish(topic, payload, qos, retain, properties)
        mid = self._mid_generate()
        message = _Message(mid, topic_bytes)
        message.timestamp = paho.time_func()
        message.payload = payload
        message.qos = 1
        message.retain = retain
        with self._out_message_mutex:
            if mid in self._out_messages or (
                self._max_queued_messages > 0
                and len(self._out_messages) >= self._max_queued_messages
            ):
                message.info.rc = MQTTErrorCode.MQTT_ERR_QUEUE_SIZE
                return message.info
            self._out_messages[mid] = message
            if self._max_inflight_messages == 0 or (
                self._inflight_messages < self._max_inflight_messages
            ):
                self._inflight_messages += 1
                message.state = paho.mqtt_ms_wait_for_puback
                rc = self._send_publish(mid, topic_bytes, payload, 1, retain, False, message.info)
                if rc == MQTTErrorCode.MQTT_ERR_NO_CONN:  # sent when the connection is back
                    self._inflight_messages -= 1
                    message.state = paho.mqtt_ms_publish
                message.info.rc = rc
            else:
                message.state = paho.mqtt_ms_queued
            return message.info

    def _update_inflight(self) -> MQTTErrorCode:
        # paho walks every outgoing message to find a queued one; when every message is in
        # flight there is none (QoS 0 messages are never in ``_out_messages``)
        if len(self._out_messages) <= self._inflight_messages:
            return MQTTErrorCode.MQTT_ERR_SUCCESS
        return super()._update_inflight()


class MqttError(Exception):
    """Base of the errors this adapter raises."""


class MqttAuthenticationFailed(MqttError):
    """The broker refused our credentials; reconnecting will not help."""


class MqttNotConnected(MqttError):
    """No connection within the time allowed."""


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    protocol: int = MQTT_V5
    tls: bool = False

    @classmethod
    def parse(
        cls, url: str, *, username: str | None = None, password: str | None = None
    ) -> BrokerAddress:
        """``mqtt[s]://[user[:password]@]host[:port][?protocol=5|3.1.1]``.

        Credentials in the URL win over the ones given as arguments.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts", "tcp"):
            raise ValueError(f"unsupported MQTT URL scheme {parts.scheme!r}")
        tls = parts.scheme == "mqtts"
        query = parse_qs(parts.query)
        protocol_text = query.get("protocol", ["5"])[0]
        protocol = MQTT_V311 if protocol_text in ("3.1.1", "311", "4") else MQTT_V5
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or (8883 if tls else 1883),
            username=unquote(parts.username) if parts.username else username,
            password=unquote(parts.password) if parts.password else password,
            protocol=protocol,
            tls=tls,
        )

    @property
    def supports_shared_subscriptions(self) -> bool:
        return self.protocol == MQTT_V5


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    mid: int
    received_monotonic: float = field(default_factory=time.monotonic)
    # which connection delivered it: a packet id is only meaningful on that connection
    connection: int = 0


@dataclass(frozen=True, slots=True)
class Will:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


MessageHandler = Callable[[ReceivedMessage], None]


class MqttConnection:
    """A long-lived connection with automatic reconnects (paho's network thread)."""

    def __init__(
        self,
        *,
        address: BrokerAddress,
        client_id: str,
        subscriptions: Sequence[tuple[str, int]] = (),
        on_message: MessageHandler | None = None,
        persistent_session: bool = False,
        session_expiry_seconds: int = 0,
        manual_ack: bool = False,
        receive_maximum: int | None = None,
        max_inflight: int = 1000,
        will: Will | None = None,
        on_connected: Callable[[bool], None] | None = None,
        keepalive: int = 30,
    ) -> None:
        self._address = address
        self._subscriptions = list(subscriptions)
        self._on_message = on_message
        self._persistent = persistent_session
        self._session_expiry = session_expiry_seconds
        self._receive_maximum = receive_maximum
        self._on_connected = on_connected
        self._keepalive = keepalive
        self._connected = threading.Event()
        self._fatal: MqttError | None = None
        self._stopping = False
        self._fatal_event = threading.Event()
        self.handler_errors = 0
        self.unsolicited_messages = 0
        self._manual_ack = manual_ack
        self._connection = 0
        self._connection_lock = threading.Lock()
        self._split_filters: list[list[str]] = []
        self._split_filters_for: list[tuple[str, int]] | None = None

        if address.protocol == MQTT_V5:
            self._client = _Client(
                CallbackAPIVersion.VERSION2,
                client_id=client_id,
                protocol=paho.MQTTv5,
                manual_ack=manual_ack,
            )
        else:
            self._client = _Client(
                CallbackAPIVersion.VERSION2,
                client_id=client_id,
                protocol=paho.MQTTv311,
                clean_session=not persistent_session,
                manual_ack=manual_ack,
            )
        if address.username is not None:
            self._client.username_pw_set(address.username, address.password)
        if address.tls:
            self._client.tls_set()
        if will is not None:
            self._client.will_set(will.topic, will.payload, qos=will.qos, retain=will.retain)
        self._client.max_inflight_messages_set(max_inflight)
        self._client.max_queued_messages_set(0)  # unlimited: the caller bounds its own work
        self._client.reconnect_delay_set(min_delay=1, max_delay=10)
        self._client.on_connect = self._handle_connect
        self._client.on_disconnect = self._handle_disconnect
        self._client.on_message = self._handle_message

    # lifecycle -------------------------------------------------------------------------

    def start(self, *, wait_seconds: float | None = 10.0) -> None:
        """Connect in the background; with ``wait_seconds``, wait for the first CONNACK."""
        properties = None
        clean_start: bool | Literal[3] = paho.MQTT_CLEAN_START_FIRST_ONLY
        if self._address.protocol == MQTT_V5:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            if self._session_expiry:
                properties.SessionExpiryInterval = self._session_expiry
            if self._receive_maximum:
                properties.ReceiveMaximum = self._receive_maximum
            clean_start = not self._persistent
        self._client.connect_async(
            self._address.host,
            self._address.port,
            keepalive=self._keepalive,
            clean_start=clean_start,
            properties=properties,
        )
        self._client.loop_start()
        if wait_seconds is not None:
            self.wait_connected(wait_seconds)

    def wait_connected(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._fatal is not None:
                raise self._fatal
            if self._connected.wait(0.05):
                return
        if self._fatal is not None:
            raise self._fatal
        raise MqttNotConnected(
            f"no MQTT connection to {self._address.host}:{self._address.port} within {timeout}s"
        )

    def stop(self) -> None:
        self._stopping = True
        try:
            self._client.disconnect()
        finally:
            # paho 2.x races here: its network thread clears its own handle when it ends, so
            # an end between loop_stop's check and its join raises AttributeError (seen under
            # libfaketime in CI). The thread has then stopped, which is what stop() wants.
            with contextlib.suppress(AttributeError):
                self._client.loop_stop()

    @property
    def is_connected(self) -> bool:
        return self._connected.is_set()

    @property
    def fatal_error(self) -> MqttError | None:
        return self._fatal

    def wait_fatal(self, timeout: float | None = None) -> bool:
        return self._fatal_event.wait(timeout)

    # traffic ---------------------------------------------------------------------------

    def add_subscription(self, topic_filter: str, qos: int = 1) -> None:
        self._subscriptions.append((topic_filter, qos))
        if self.is_connected:
            self._subscribe([(topic_filter, qos)])

    def publish(
        self, topic: str, payload: bytes | str, *, qos: int = 1, retain: bool = False
    ) -> paho.MQTTMessageInfo:
        return self._client.publish(topic, payload, qos=qos, retain=retain)

    def is_current(self, message: ReceivedMessage) -> bool:
        """Whether acknowledging ``message`` still means anything: QoS 0, or delivered on
        the connection that is open now. A QoS 1/2 message of an earlier connection comes
        again on this one (the persistent session kept it unacknowledged)."""
        return message.qos == 0 or message.connection == self._connection

    def ack(self, message: ReceivedMessage) -> bool:
        """Acknowledge a QoS 1/2 message received with ``manual_ack``.

        A message delivered on an earlier connection is not acked (returns False): the broker
        redelivers it on the new connection, and after a reconnect its packet id may already
        name a different, not yet committed message.
        """
        if message.qos == 0:
            return True
        with self._connection_lock:
            if message.connection != self._connection:
                return False
            self._client.ack(message.mid, message.qos)
        return True

    # paho callbacks (network thread) ---------------------------------------------------

    def _handle_connect(
        self,
        client: paho.Client,
        userdata: Any,
        flags: paho.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            if reason_code.value in _AUTH_FAILURE_CODES:
                self._fatal = MqttAuthenticationFailed(
                    f"MQTT broker refused the credentials of client {client._client_id!r}; "
                    "not reconnecting"
                )
                log.error("mqtt.auth_failed reason=%s; giving up", reason_code.getName())
                self._fatal_event.set()
                client.disconnect()
            else:
                log.warning("mqtt.connect_refused reason=%s", reason_code.getName())
            return
        if self._subscriptions:
            self._subscribe(self._subscriptions)
        log.info("mqtt.connected session_present=%s", flags.session_present)
        if self._on_connected is not None:  # done by the time start() returns
            self._on_connected(bool(flags.session_present))
        self._connected.set()

    def _subscribed_to(self, topic: str) -> bool:
        levels = topic.split("/")
        return any(_filter_matches(f, levels) for f in self._filter_levels())

    def _filter_levels(self) -> list[list[str]]:
        # paho.topic_matches_sub builds a matcher tree per call (~100 µs): far too slow at
        # thousands of messages a second, so the filters are split once per change
        if self._split_filters_for is not self._subscriptions or len(self._split_filters) != len(
            self._subscriptions
        ):
            self._split_filters = [
                (t.split("/", 2)[2] if t.startswith("$share/") else t).split("/")
                for t, _qos in self._subscriptions
            ]
            self._split_filters_for = self._subscriptions
        return self._split_filters

    def _subscribe(self, subscriptions: Sequence[tuple[str, int]]) -> None:
        if self._address.protocol == MQTT_V5:
            self._client.subscribe([(t, SubscribeOptions(qos=q)) for t, q in subscriptions])
        else:
            self._client.subscribe(list(subscriptions))

    def _handle_disconnect(
        self,
        client: paho.Client,
        userdata: Any,
        flags: paho.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._connected.clear()
        with self._connection_lock:
            self._connection += 1
        if not self._stopping and self._fatal is None:
            log.warning("mqtt.disconnected reason=%s; reconnecting", reason_code.getName())

    def _handle_message(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        if self._on_message is None:
            return
        if not self._subscribed_to(msg.topic):
            # a broker that sends what we did not subscribe to (amqtt 0.12 did, before the
            # embedded broker kept retained messages to their own subscribers): never hand
            # those on, but ack them so they do not hold a slot of the in-flight window.
            # Counted, not printed: it says nothing an operator can act on.
            self.unsolicited_messages += 1
            log.debug("mqtt.unsolicited_message mid=%d dropped", msg.mid)
            if msg.qos > 0 and self._manual_ack:
                client.ack(msg.mid, msg.qos)
            return
        received = ReceivedMessage(
            topic=msg.topic,
            payload=bytes(msg.payload),
            qos=msg.qos,
            retain=bool(msg.retain),
            mid=msg.mid,
            connection=self._connection,
        )
        # A handler error must not kill paho's network thread. Handlers catch their own
        # errors (ingest quarantines bad input), so reaching here is a bug: it is counted
        # and logged (ids only), and tests assert the count stays zero. The message is not
        # acked, so the broker redelivers it after a reconnect: nothing is lost.
        try:
            self._on_message(received)
        except Exception:
            self.handler_errors += 1
            log.exception("mqtt.handler_failed mid=%d", msg.mid)


def _filter_matches(filter_levels: list[str], topic_levels: list[str]) -> bool:
    """MQTT topic filter matching ('+' one level, '#' the rest, including the parent)."""
    for index, level in enumerate(filter_levels):
        if level == "#":
            return True
        if index >= len(topic_levels):
            return False
        if level != "+" and level != topic_levels[index]:
            return False
    return len(filter_levels) == len(topic_levels)
