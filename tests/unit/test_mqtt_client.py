"""The MQTT adapter, driven through paho's callbacks directly (no network)."""

from __future__ import annotations

import paho.mqtt.client as paho
import pytest

from pust.messaging.mqtt_client import BrokerAddress, MqttConnection, ReceivedMessage, _Client


def _message(topic: str, payload: bytes = b"{}", mid: int = 7) -> paho.MQTTMessage:
    message = paho.MQTTMessage(mid=mid, topic=topic.encode())
    message.payload = payload
    message.qos = 1
    return message


def _connection(
    subscriptions: list[tuple[str, int]], sink: list[ReceivedMessage]
) -> MqttConnection:
    return MqttConnection(
        address=BrokerAddress.parse("mqtt://127.0.0.1:1"),
        client_id="unit",
        subscriptions=subscriptions,
        on_message=sink.append,
    )


def test_messages_on_subscribed_topics_are_handed_on() -> None:
    received: list[ReceivedMessage] = []
    connection = _connection([("$share/ingest/r/devices/+/measurements", 1)], received)
    connection._handle_message(connection._client, None, _message("r/devices/d-01/measurements"))
    assert [m.topic for m in received] == ["r/devices/d-01/measurements"]
    assert received[0].mid == 7


def test_messages_on_other_topics_are_dropped_and_counted() -> None:
    # amqtt has been seen delivering retained presence messages to receipt subscribers
    received: list[ReceivedMessage] = []
    connection = _connection([("r/devices/d-01/receipts", 1)], received)
    connection._handle_message(connection._client, None, _message("r/devices/d-01/presence"))
    assert received == []
    assert connection.unsolicited_messages == 1


@pytest.mark.expect_error_logs("mqtt.handler_failed")  # the point of the test
def test_a_failing_handler_does_not_kill_the_network_thread() -> None:
    def explode(_message: ReceivedMessage) -> None:
        raise RuntimeError("bug")

    connection = MqttConnection(
        address=BrokerAddress.parse("mqtt://127.0.0.1:1"),
        client_id="unit",
        subscriptions=[("#", 1)],
        on_message=explode,
    )
    connection._handle_message(connection._client, None, _message("any/topic"))
    assert connection.handler_errors == 1


def test_broker_urls() -> None:
    plain = BrokerAddress.parse("mqtt://broker:1884")
    assert (plain.host, plain.port, plain.protocol, plain.tls) == ("broker", 1884, 5, False)
    embedded = BrokerAddress.parse("mqtt://127.0.0.1:1883?protocol=3.1.1", username="u")
    assert embedded.protocol == 4 and embedded.username == "u"
    assert not embedded.supports_shared_subscriptions
    secure = BrokerAddress.parse("mqtts://user:p%40ss@broker")
    assert (secure.port, secure.tls, secure.username, secure.password) == (
        8883,
        True,
        "user",
        "p@ss",
    )


# --- the short path for common packets (pust.messaging.mqtt_client._Client) ---------------


def _client(protocol: int, *, fast: bool) -> paho.Client:
    cls = _Client if fast else paho.Client
    return cls(paho.CallbackAPIVersion.VERSION2, client_id="unit", protocol=protocol)


def _publish_packet(
    topic: bytes, payload: bytes, *, qos: int, mid: int, properties: bytes | None
) -> tuple[int, bytearray]:
    header = 0x30 | (qos << 1) | 0x01  # retain set
    body = len(topic).to_bytes(2, "big") + topic
    if qos:
        body += mid.to_bytes(2, "big")
    if properties is not None:
        body += properties
    return header, bytearray(body + payload)


def _received(client: paho.Client, header: int, packet: bytearray) -> paho.MQTTMessage:
    seen: list[paho.MQTTMessage] = []
    client.on_message = lambda _client, _userdata, message: seen.append(message)
    client._in_packet = {**client._in_packet, "command": header, "packet": packet}
    client._handle_publish()
    (message,) = seen
    return message


@pytest.mark.parametrize(
    ("protocol", "qos", "properties"),
    [
        (paho.MQTTv5, 1, b"\x00"),
        (paho.MQTTv5, 0, b"\x00"),
        (paho.MQTTv5, 1, b"\x05\x03\x00\x02ab"),  # a content type: paho's own path
        (paho.MQTTv311, 1, None),
    ],
)
def test_a_received_publish_is_the_message_paho_makes_of_it(
    protocol: int, qos: int, properties: bytes | None
) -> None:
    header, packet = _publish_packet(
        b"r/devices/d-01/measurements", b'{"a": 1}', qos=qos, mid=513, properties=properties
    )
    theirs = _received(_client(protocol, fast=False), header, bytearray(packet))
    ours = _received(_client(protocol, fast=True), header, bytearray(packet))
    assert (ours.topic, ours.payload, ours.qos, ours.mid, ours.retain, ours.dup) == (
        theirs.topic,
        theirs.payload,
        theirs.qos,
        theirs.mid,
        theirs.retain,
        theirs.dup,
    )
    assert type(ours.payload) is type(theirs.payload) is bytes
    assert (ours.properties is None) == (theirs.properties is None)
    if properties == b"\x05\x03\x00\x02ab":
        assert ours.properties.ContentType == "ab"  # type: ignore[union-attr]


def _in_flight(client: paho.Client, mids: list[int]) -> list[paho.MQTTMessageInfo]:
    infos = []
    for mid in mids:
        message = paho.MQTTMessage(mid=mid, topic=b"t")
        message.qos = 1
        message.state = paho.mqtt_ms_wait_for_puback
        client._out_messages[mid] = message
        client._inflight_messages += 1
        infos.append(message.info)
    return infos


def _puback(client: paho.Client, packet: bytes) -> None:
    client._in_packet = {**client._in_packet, "command": 0x40, "packet": bytearray(packet)}
    client._handle_pubackcomp("PUBACK")


@pytest.mark.parametrize("fast", [False, True])
@pytest.mark.parametrize("packet", [b"\x01\x02", b"\x01\x02\x00", b"\x01\x02\x00\x00"])
def test_a_plain_puback_settles_its_message(fast: bool, packet: bytes) -> None:
    client = _client(paho.MQTTv5, fast=fast)
    published: list[int] = []
    client.on_publish = lambda _c, _u, mid, _reason, _properties: published.append(mid)
    infos = _in_flight(client, [0x0102, 0x0103])
    _puback(client, packet)
    assert published == [0x0102]
    assert infos[0].is_published()
    assert not infos[1].is_published()
    assert list(client._out_messages) == [0x0103]
    assert client._inflight_messages == 1


@pytest.mark.parametrize("fast", [False, True])
@pytest.mark.parametrize("reason", [0x10, 0x80])  # no matching subscribers; unspecified error
def test_a_puback_keeps_its_reason(fast: bool, reason: int) -> None:
    client = _client(paho.MQTTv5, fast=fast)
    reasons: list[int] = []
    client.on_publish = lambda _c, _u, _mid, code, _p: reasons.append(code.value)
    _in_flight(client, [9, 10])
    _puback(client, b"\x00\x09" + bytes([reason]))
    _puback(client, b"\x00\x0a" + bytes([reason, 0]))
    assert reasons == [reason, reason]
    assert not client._out_messages


@pytest.mark.parametrize("fast", [False, True])
def test_a_queued_message_goes_out_when_a_slot_frees(fast: bool) -> None:
    client = _client(paho.MQTTv5, fast=fast)
    client.max_inflight_messages_set(1)
    _in_flight(client, [1])
    queued = paho.MQTTMessage(mid=2, topic=b"t")
    queued.qos = 1
    queued.state = paho.mqtt_ms_queued
    client._out_messages[2] = queued
    _puback(client, b"\x00\x01")
    assert queued.state == paho.mqtt_ms_wait_for_puback
    assert client._inflight_messages == 1


class _FakeSocket:
    """Hands out what the broker sent in the chunks the network delivered it in."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.recv_calls = 0

    def recv(self, bufsize: int) -> bytes:
        self.recv_calls += 1
        if not self.chunks:
            raise BlockingIOError
        chunk = self.chunks.pop(0)
        if len(chunk) > bufsize:
            self.chunks.insert(0, chunk[bufsize:])
        return chunk[:bufsize]

    def close(self) -> None:
        pass


def _wire(topic: bytes, payload: bytes, mid: int) -> bytes:
    header, body = _publish_packet(topic, payload, qos=1, mid=mid, properties=b"\x00")
    length, encoded = len(body), bytearray()
    while True:
        byte, length = length % 128, length // 128
        encoded.append(byte | (0x80 if length else 0))
        if not length:
            return bytes([header]) + bytes(encoded) + bytes(body)


def test_every_packet_of_one_read_is_handled_before_paho_waits_again() -> None:
    big = b"x" * 300  # a two-byte remaining length
    stream = b"".join(_wire(b"r/devices/d-01/measurements", big, mid) for mid in range(1, 6))
    cut = len(stream) - 100  # the last packet arrives in two parts
    client = _client(paho.MQTTv5, fast=True)
    seen: list[int] = []
    client.on_message = lambda _c, _u, message: seen.append(message.mid)
    sock = _FakeSocket([stream[:cut]])
    client._sock = sock  # type: ignore[assignment]
    assert client.loop_read() == paho.MQTT_ERR_SUCCESS
    assert seen == [1, 2, 3, 4]
    assert sock.recv_calls <= 3
    sock.chunks.append(stream[cut:])
    assert client.loop_read() == paho.MQTT_ERR_SUCCESS
    assert seen == [1, 2, 3, 4, 5]


def test_what_was_read_ahead_on_a_closed_connection_is_forgotten() -> None:
    first = _wire(b"r/devices/d-01/measurements", b"{}", 1)
    client = _client(paho.MQTTv5, fast=True)
    seen: list[int] = []
    client.on_message = lambda _c, _u, message: seen.append(message.mid)
    client._sock = _FakeSocket([first + first[:3]])  # type: ignore[assignment]
    client.loop_read()
    client._sock_close()
    client._in_packet = _client(paho.MQTTv5, fast=True)._in_packet  # what a reconnect does
    client._sock = _FakeSocket([_wire(b"r/devices/d-01/measurements", b"{}", 2)])  # type: ignore[assignment]
    client.loop_read()
    assert seen == [1, 2]


def test_a_steady_stream_does_not_keep_paho_from_writing() -> None:
    # loop_read returns once what one read brought is handled, however much more is waiting
    packet = _wire(b"r/devices/d-01/measurements", b"x" * 1000, 1)
    client = _client(paho.MQTTv5, fast=True)
    seen: list[int] = []
    client.on_message = lambda _c, _u, message: seen.append(message.mid)
    sock = _FakeSocket([packet * 100 for _ in range(50)])  # 5 MB waiting
    client._sock = sock  # type: ignore[assignment]
    assert client.loop_read() == paho.MQTT_ERR_SUCCESS
    assert 0 < len(seen) <= 2 * 64 * 1024 // len(packet) + 1


def test_a_pubcomp_with_a_puback_only_reason_goes_through_paho() -> None:
    # 16 "no matching subscribers" is no PUBCOMP reason: paho calls the packet malformed
    client = _client(paho.MQTTv5, fast=True)
    _in_flight(client, [9])
    client._in_packet = {**client._in_packet, "command": 0x70, "packet": bytearray(b"\x00\x09\x10")}
    with pytest.raises(paho.MalformedPacket):  # type: ignore[attr-defined]
        client._handle_pubackcomp("PUBCOMP")


class _WireSocket:
    """Takes what is sent, at most ``limit`` bytes per send() (a full socket buffer)."""

    def __init__(self, limit: int | None = None) -> None:
        self.sent = bytearray()
        self.sends = 0
        self.limit = limit

    def send(self, data: bytes) -> int:
        self.sends += 1
        taken = data if self.limit is None else data[: self.limit]
        self.sent += taken
        return len(taken)

    def close(self) -> None:
        pass


def _sent_by(client: paho.Client, limit: int | None = None) -> tuple[bytes, int]:
    """What the client writes of its queue, send() after send(), until it is empty."""
    sock = _WireSocket(limit)
    client._sock = sock  # type: ignore[assignment]
    client._state = paho._ConnectionState.MQTT_CS_CONNECTED
    for _ in range(10_000):
        if not client.want_write():
            break
        client.loop_write()
    assert not client.want_write()
    return bytes(sock.sent), sock.sends


def _queue_receipts_and_acks(client: paho.Client, count: int) -> list[paho.MQTTMessageInfo]:
    client._sock = _WireSocket()  # type: ignore[assignment]  # publish() needs a socket
    infos = []
    for n in range(count):
        infos.append(client.publish(f"r/devices/d-{n:02d}/receipts", b'{"n":%d}' % n, qos=1))
        client.ack(100 + n, 1)
    client.subscribe("r/devices/+/status", 1)  # a packet paho writes on its own path
    client.publish("r/devices/d-00/receipts", b"qos 0", qos=0)
    return infos


@pytest.mark.parametrize("limit", [None, 7, 1000])
def test_queued_packets_go_out_byte_for_byte_as_paho_sends_them(limit: int | None) -> None:
    def written(fast: bool) -> tuple[bytes, int, list[tuple[int, int]]]:
        client = _client(paho.MQTTv5, fast=fast)
        client.max_inflight_messages_set(100)
        client._thread = object()  # type: ignore[assignment]  # as if loop_start() ran
        client._manual_ack = True
        infos = _queue_receipts_and_acks(client, 40)
        data, sends = _sent_by(client, limit)
        return data, sends, [(info.mid, info.rc) for info in infos]

    ours, our_sends, our_infos = written(fast=True)
    theirs, their_sends, their_infos = written(fast=False)
    assert ours == theirs
    assert our_infos == their_infos
    if limit is None:
        assert our_sends < their_sends / 10  # 80 receipts and acks in one send()


def test_a_message_published_on_the_short_path_can_be_waited_for() -> None:
    import threading

    client = _client(paho.MQTTv5, fast=True)
    client._sock = _WireSocket()  # type: ignore[assignment]
    first = client.publish("r/devices/d-01/receipts", b"{}", qos=1)
    second = client.publish("r/devices/d-02/receipts", b"{}", qos=1)
    waited: list[bool] = []
    waiter = threading.Thread(target=lambda: (first.wait_for_publish(30), waited.append(True)))
    waiter.start()
    while first._lazy is None:  # type: ignore[attr-defined]  # the waiter made its condition
        pass
    assert not first.is_published()
    _puback(client, first.mid.to_bytes(2, "big"))
    waiter.join(30)
    assert waited == [True]
    assert first.is_published() and not second.is_published()
    _puback(client, second.mid.to_bytes(2, "big"))
    assert second.is_published()
    second.wait_for_publish(0)  # published before anyone waited: returns at once


def test_one_wake_up_of_the_network_thread_per_burst() -> None:
    class _Pair:
        sent = 0

        def send(self, data: bytes) -> int:
            self.sent += 1
            return 1

        def close(self) -> None:
            pass

    client = _client(paho.MQTTv5, fast=True)
    client._thread = object()  # type: ignore[assignment]
    pair = _Pair()
    client._sockpairW = pair  # type: ignore[assignment]
    client._sock = _WireSocket()  # type: ignore[assignment]
    client._manual_ack = True
    for mid in range(1, 51):
        client.ack(mid, 1)
    assert pair.sent == 1
    assert client.want_write()  # the loop looks: the next packet wakes it again
    client.ack(51, 1)
    assert pair.sent == 2


@pytest.mark.parametrize("fast", [False, True])
def test_a_topic_callback_still_takes_its_messages_from_on_message(fast: bool) -> None:
    client = _client(paho.MQTTv5, fast=fast)
    general: list[int] = []
    filtered: list[int] = []
    client.on_message = lambda _c, _u, message: general.append(message.mid)
    client.message_callback_add("r/devices/+/status", lambda _c, _u, m: filtered.append(m.mid))
    for mid, topic in ((1, b"r/devices/d-01/status"), (2, b"r/devices/d-01/measurements")):
        header, packet = _publish_packet(topic, b"{}", qos=1, mid=mid, properties=b"\x00")
        client._in_packet = {**client._in_packet, "command": header, "packet": packet}
        client._handle_publish()
    assert (filtered, general) == ([1], [2])
