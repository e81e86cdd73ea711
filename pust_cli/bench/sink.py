"""``python -m pust_cli.bench.sink MODE MQTT_URL TOPIC_ROOT [DATABASE_URL]``: the reference
consumers the benchmark compares ingest with, each in its own process like ingest.

- ``ceiling``: a paho subscriber that does nothing with a message (QoS 1, auto-ack).
- ``naive``: a subscriber that stores each message with a SQLModel session and commits it
  (one transaction per message, in paho's callback): the obvious first implementation.

Both report progress (``{"done": n}``) on ``<root>/bench/progress`` every 50 messages.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from pust.messaging.mqtt_client import BrokerAddress, MqttConnection, ReceivedMessage
from pust.messaging.topics import DeviceChannel, Topics
from pust_cli.bench.driver import progress_topic

PROGRESS_EVERY = 50


def _naive_store(database_url: str) -> Callable[[str, str, dict[str, Any]], None]:
    from sqlalchemy import select
    from sqlmodel import Session

    from pust.db.engine import build_engine
    from pust.db.tables import DeviceAssignment, InboxMessage, QuestionnaireResponse, Reading
    from pust.domain.measurement_types import spec_for

    engine = build_engine(database_url, pool_size=1)
    with Session(engine) as session:
        citizens = {
            a.device_id: a.citizen_id for a in session.execute(select(DeviceAssignment)).scalars()
        }

    def store(device_id: str, channel: str, payload: dict[str, Any]) -> None:
        received = datetime.now(UTC)
        sent = datetime.fromisoformat(payload["sent_at"])
        with Session(engine) as session:
            session.add(
                InboxMessage(
                    device_id=device_id,
                    message_id=payload["message_id"],
                    kind=channel,
                    received_at=received,
                )
            )
            if channel == DeviceChannel.MEASUREMENTS.value:
                for obs in payload["observations"]:
                    spec = spec_for(obs["type"])
                    value = spec.to_canonical(obs["value"], obs["unit"]) if spec else None
                    session.add(
                        Reading(
                            citizen_id=citizens[device_id],
                            device_id=device_id,
                            message_id=payload["message_id"],
                            type=obs["type"],
                            value=obs["value"] if value is None else value,
                            unit=spec.unit if spec else obs["unit"],
                            original_value=obs["value"],
                            original_unit=obs["unit"],
                            measured_at=datetime.fromisoformat(obs["measured_at"]),
                            sent_at=sent,
                            received_at=received,
                            entry=obs.get("entry", "device"),
                        )
                    )
            else:
                session.add(
                    QuestionnaireResponse(
                        citizen_id=citizens[device_id],
                        device_id=device_id,
                        message_id=payload["message_id"],
                        questionnaire=payload["questionnaire"],
                        answered_at=datetime.fromisoformat(payload["answered_at"]),
                        sent_at=sent,
                        received_at=received,
                        answers=payload["answers"],
                    )
                )
            session.commit()

    return store


def main(argv: list[str]) -> int:
    mode, mqtt_url, root = argv[0], argv[1], argv[2]
    topics = Topics(root)
    store = _naive_store(argv[3]) if mode == "naive" else None
    done = 0
    lock = threading.Lock()
    connection: MqttConnection

    def on_message(message: ReceivedMessage) -> None:
        nonlocal done
        if store is not None:
            parsed = topics.parse_device_topic(message.topic)
            if parsed is None:
                return
            store(parsed.device_id, parsed.channel.value, json.loads(message.payload))
        with lock:
            done += 1
            count = done
        if count % PROGRESS_EVERY == 0:
            connection.publish(progress_topic(topics), json.dumps({"done": count}), qos=0)

    connection = MqttConnection(
        address=BrokerAddress.parse(
            mqtt_url,
            username=f"bench-{mode}",
            password=os.environ.get("PUST_SERVICE_MQTT_PASSWORD"),
        ),
        client_id=f"bench-{mode}-{uuid.uuid4().hex[:8]}",
        subscriptions=[
            (topics.inbound_filter(DeviceChannel.MEASUREMENTS), 1),
            (topics.inbound_filter(DeviceChannel.QUESTIONNAIRE_RESPONSES), 1),
        ],
        on_message=on_message,
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    connection.start(wait_seconds=15)
    stop.wait(0.5)  # let the SUBACK arrive before the driver starts publishing
    print("ready", flush=True)
    while not stop.wait(0.5):
        with lock:
            count = done
        connection.publish(progress_topic(topics), json.dumps({"done": count}), qos=0)
    connection.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
