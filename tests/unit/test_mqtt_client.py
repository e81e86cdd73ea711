"""The MQTT adapter, driven through paho's callbacks directly (no network)."""

from __future__ import annotations

import paho.mqtt.client as paho
import pytest

from pust.messaging.mqtt_client import BrokerAddress, MqttConnection, ReceivedMessage


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
