"""Settings shared by every service, read from ``PUST_*`` environment variables.

Nothing is read at import time: call :func:`load_settings` in a composition root. Each
service may add its own settings class (``PUST_INGEST_*`` etc.) beside its code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEMO_SECRET = "demo-only-secret-change-me"  # noqa: S105 - refused outside demo mode
DEMO_SERVICE_PASSWORD = "demo-service-password"  # noqa: S105 - refused outside demo mode


class InsecureSettings(ValueError):
    """A default secret outside demo mode."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PUST_", extra="ignore")

    demo: bool = False
    data_dir: Path = Path(".pust")
    # empty: SQLite under data_dir (the embedded default)
    database_url: str = ""
    # empty: the embedded broker, started by `pust up` on mqtt_port
    mqtt_url: str = ""
    mqtt_port: int = Field(default=1883, ge=1, le=65535)
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=1, le=65535)
    # Prefix of every topic. Production leaves it; tests give each test its own root so that
    # parallel tests on one broker never see each other's messages.
    topic_root: str = "pust/v1"
    # the backend services' own MQTT account (the embedded broker knows it)
    service_mqtt_username: str = "pust-service"
    service_mqtt_password: SecretStr = SecretStr(DEMO_SERVICE_PASSWORD)
    # Mosquitto's dynamic-security admin account (made by `mosquitto_ctrl dynsec init`):
    # set, pust provisions tablets on the broker (alerts applies the outbox channel
    # ``broker``, `pust broker provision` creates the service accounts); empty, the broker
    # reads the device registry itself (the embedded broker)
    broker_admin_username: str = ""
    broker_admin_password: SecretStr = SecretStr("")
    secret_key: SecretStr = SecretStr(DEMO_SECRET)
    clinic_timezone: str = "Europe/Copenhagen"
    log_level: str = "INFO"
    # the demo's live tablets: simulated seconds per wall second (360: a day in 4 minutes)
    demo_speed: float = Field(default=360.0, gt=0, le=86400)

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Self:
        if self.demo:
            return self
        defaults = []
        if self.secret_key.get_secret_value() == DEMO_SECRET:
            defaults.append("PUST_SECRET_KEY")
        if self.service_mqtt_password.get_secret_value() == DEMO_SERVICE_PASSWORD:
            defaults.append("PUST_SERVICE_MQTT_PASSWORD")
        if defaults:
            raise InsecureSettings(
                "refusing to start outside demo mode with default secrets: set "
                + ", ".join(defaults)
            )
        return self

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'pust.sqlite3').resolve()}"

    @property
    def effective_mqtt_url(self) -> str:
        if self.mqtt_url:
            return self.mqtt_url
        # the embedded amqtt broker speaks MQTT 3.1.1 only
        return f"mqtt://127.0.0.1:{self.mqtt_port}?protocol=3.1.1"

    @property
    def uses_embedded_broker(self) -> bool:
        return not self.mqtt_url

    @property
    def provisions_broker(self) -> bool:
        """Whether pust manages the broker's accounts (Mosquitto's dynamic security)."""
        return bool(self.broker_admin_username)

    def service_mqtt_login(self, client_id: str) -> str:
        """The MQTT username of a backend service process: the service account's name and
        the process's client id, so that the broker can bind each login to its client id
        (``pust broker provision``). The embedded broker accepts any such login with the
        service password."""
        return f"{self.service_mqtt_username}:{client_id}"

    def is_service_mqtt_login(self, username: str) -> bool:
        base = self.service_mqtt_username
        return username == base or username.startswith(f"{base}:")


def load_settings(**overrides: object) -> Settings:
    """Read and validate settings; raises pydantic.ValidationError / InsecureSettings."""
    return Settings(**overrides)  # type: ignore[arg-type]
