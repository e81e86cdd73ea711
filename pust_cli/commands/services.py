"""One command per service process: `pust broker|ingest|alerts|api|bridge`.

`pust up` runs these as child processes; production runs them under systemd
(deploy/systemd) with PUST_DATABASE_URL / PUST_MQTT_URL pointing at PostgreSQL and
Mosquitto.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import threading

from pust.config.logging import configure_logging
from pust.config.settings import Settings
from pust_cli.settings_loading import settings_or_exit

# service name -> module with ``run(settings) -> None``
SERVICE_MODULES = {
    "ingest": "services.ingest.main",
    "alerts": "services.alerts.main",
    "api": "services.api.main",
    "bridge": "services.bridge.main",
}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    broker = subparsers.add_parser(
        "broker", help="run the embedded MQTT broker (demo); `provision`: set up Mosquitto"
    )
    broker.set_defaults(handler=_run_broker)
    actions = broker.add_subparsers(dest="broker_action", metavar="ACTION")
    provision = actions.add_parser(
        "provision",
        help="create pust's accounts and roles on Mosquitto's dynamic security (idempotent)",
    )
    provision.add_argument(
        "--client-id",
        action="append",
        default=[],
        help="the client id of a further service process (a second ingest: pust-ingest-<name>)",
    )
    provision.set_defaults(handler=_provision_broker)
    for name in SERVICE_MODULES:
        parser = subparsers.add_parser(name, help=f"run the {name} service")
        parser.set_defaults(handler=_run_service, service=name)


def _run_service(args: argparse.Namespace) -> int:
    settings = settings_or_exit()
    configure_logging(settings.log_level, service=args.service)
    module = importlib.import_module(SERVICE_MODULES[args.service])
    module.run(settings)
    return 0


def _provision_broker(args: argparse.Namespace) -> int:
    from pust_cli.broker_provision import run

    return run(args)


def _run_broker(args: argparse.Namespace) -> int:
    settings = settings_or_exit()
    configure_logging(settings.log_level, service="broker")
    run_embedded_broker(settings)
    return 0


def run_embedded_broker(settings: Settings) -> None:
    from pust.db.device_credentials import MqttCredentialCheck
    from pust.db.engine import build_engine
    from pust.messaging.embedded_broker import BrokerPolicy, EmbeddedBroker
    from pust.messaging.topics import Topics

    engine = build_engine(settings.effective_database_url, pool_size=2)
    check = MqttCredentialCheck(
        engine=engine,
        service_username=settings.service_mqtt_username,
        service_password=settings.service_mqtt_password.get_secret_value(),
    )
    policy = BrokerPolicy(
        check_credentials=check,
        service_usernames=frozenset({settings.service_mqtt_username}),
        topics=Topics(settings.topic_root),
    )
    broker = EmbeddedBroker("127.0.0.1", settings.mqtt_port, policy)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    broker.start()
    stop.wait()
    broker.stop()
    engine.dispose()
