from __future__ import annotations

import pytest
from pydantic import ValidationError

from pust.config.settings import Settings


def test_demo_mode_may_use_the_default_secrets() -> None:
    settings = Settings(demo=True)
    assert settings.uses_embedded_broker
    assert settings.effective_mqtt_url.endswith("?protocol=3.1.1")
    assert settings.effective_database_url.startswith("sqlite:///")


def test_outside_demo_mode_default_secrets_are_refused() -> None:
    with pytest.raises(ValidationError, match="PUST_SECRET_KEY"):
        Settings(demo=False)
    with pytest.raises(ValidationError, match="PUST_SERVICE_MQTT_PASSWORD"):
        Settings(demo=False, secret_key="a-real-secret")


def test_configured_services_replace_the_embedded_defaults() -> None:
    settings = Settings(
        demo=False,
        secret_key="s",
        service_mqtt_password="p",
        database_url="postgresql://pust@db/pust",
        mqtt_url="mqtt://broker:1883",
    )
    assert not settings.uses_embedded_broker
    assert settings.effective_database_url == "postgresql://pust@db/pust"
    assert settings.effective_mqtt_url == "mqtt://broker:1883"


def test_ports_are_validated() -> None:
    with pytest.raises(ValidationError):
        Settings(demo=True, http_port=0)
