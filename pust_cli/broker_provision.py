"""`pust broker provision`: the broker's accounts and roles for pust, on Mosquitto's
dynamic security (idempotent: run it once at installation, again after adding a service
process or changing PUST_TOPIC_ROOT; it changes only what differs).

It sets the default ACL access to deny, creates the service role and one login per service
process (``PUST_SERVICE_MQTT_USERNAME:<client id>``, bound to that client id, password
``PUST_SERVICE_MQTT_PASSWORD``), and brings every enrolled tablet's client in line with
the registry. It logs in with ``PUST_BROKER_ADMIN_USERNAME``/``_PASSWORD`` (the account
``mosquitto_ctrl dynsec init`` made).
"""

from __future__ import annotations

import argparse
import sys

from pust.config.settings import Settings
from pust.db.broker_registry import desired_devices
from pust.db.device_credentials import PasswordSeal
from pust.db.engine import build_engine, session_scope
from pust.messaging.broker_provisioning import ServiceLogin, apply_device, provision_services
from pust.messaging.dynsec import DynsecClient, DynsecError
from pust.messaging.mqtt_client import BrokerAddress, MqttError
from pust.messaging.topics import Topics
from pust_cli.settings_loading import settings_or_exit
from services.alerts.settings import AlertsSettings
from services.ingest.settings import IngestSettings

EXIT_CONFIG = 78


def service_logins(settings: Settings, extra_client_ids: list[str]) -> list[ServiceLogin]:
    client_ids = [IngestSettings().client_id, AlertsSettings().client_id, *extra_client_ids]
    unique = list(dict.fromkeys(client_ids))
    return [ServiceLogin(settings.service_mqtt_login(c), c) for c in unique]


def provision(settings: Settings, extra_client_ids: list[str]) -> list[str]:
    """Provision the broker; returns the changes made (one line each)."""
    topics = Topics(settings.topic_root)
    address = BrokerAddress.parse(
        settings.effective_mqtt_url,
        username=settings.broker_admin_username,
        password=settings.broker_admin_password.get_secret_value(),
    )
    seal = PasswordSeal(settings.secret_key.get_secret_value())
    engine = build_engine(settings.effective_database_url, pool_size=1)
    try:
        with session_scope(engine) as session:
            devices = desired_devices(session, seal)
    finally:
        engine.dispose()
    with DynsecClient(address=address, client_id="pust-broker-provision").start() as dynsec:
        changes = provision_services(
            dynsec,
            topics=topics,
            logins=service_logins(settings, extra_client_ids),
            password=settings.service_mqtt_password.get_secret_value(),
            shared_groups=[IngestSettings().shared_subscription_group],
        )
        for device in devices:
            drift = apply_device(dynsec, topics, device)
            if drift:
                changes.append(f"device {device.device_id}: " + ", ".join(drift))
    return changes


def run(args: argparse.Namespace) -> int:
    settings = settings_or_exit()
    if not settings.provisions_broker or settings.uses_embedded_broker:
        print(
            "pust broker provision needs PUST_MQTT_URL (a Mosquitto with dynamic security) "
            "and PUST_BROKER_ADMIN_USERNAME / PUST_BROKER_ADMIN_PASSWORD",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    try:
        changes = provision(settings, list(args.client_id))
    except (DynsecError, MqttError) as exc:
        print(f"pust broker provision: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    for line in changes:
        print(line)
    print(f"broker provisioned: {len(changes)} change(s)")
    return 0
