"""``python -m pust_cli.bench.embedded_broker PORT``: the embedded broker for a benchmark run.

Every client logs in with the run's service password (PUST_SERVICE_MQTT_PASSWORD) and may
use every topic: the run's clients carry many tablets per connection, which the demo's
per-device ACL would refuse. Authentication stays on, as in the demo (amqtt drops the
persistent sessions of anonymous clients).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from types import FrameType

from pust.messaging.embedded_broker import BrokerPolicy, EmbeddedBroker
from pust.messaging.topics import Topics


class _Everyone(frozenset[str]):
    def __contains__(self, item: object) -> bool:
        return True


def main(argv: list[str]) -> int:
    port = int(argv[0])
    password = os.environ["PUST_SERVICE_MQTT_PASSWORD"]
    policy = BrokerPolicy(
        check_credentials=lambda _user, given: given == password,
        service_usernames=_Everyone(),
        topics=Topics(os.environ.get("PUST_TOPIC_ROOT", "pust/v1")),
    )
    broker = EmbeddedBroker("127.0.0.1", port, policy, session_expiry_seconds=600)
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    broker.start()
    stop.wait()
    broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
