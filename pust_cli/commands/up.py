"""`pust up [--demo]`: the whole system in one command.

With no configuration it uses the embedded defaults (SQLite under ./.pust/, the embedded
MQTT broker); with PUST_DATABASE_URL / PUST_MQTT_URL it uses PostgreSQL and Mosquitto.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import FrameType

from pust.config.settings import Settings
from pust_cli.settings_loading import settings_or_exit
from pust_cli.supervisor import Supervisor, child_environment

DEMO_LOGINS = (
    ("nurse", "Sygeplejeklinikken Nord"),
    ("nurse-syd", "Sygeplejeklinikken Syd"),
    ("admin", "administrator, both teams"),
    ("integrator", "FHIR machine client, read-only"),
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("up", help="run every service (with --demo: seeded demo)")
    parser.add_argument("--demo", action="store_true", help="seed and run the demo")
    parser.add_argument(
        "--no-simulator",
        action="store_true",
        help="with --demo: do not start the simulated tablets",
    )
    parser.add_argument("--http-port", type=int, help="HTTP port (default 8000)")
    parser.add_argument(
        "--mqtt-port", type=int, help="port of the embedded MQTT broker (default 1883)"
    )
    parser.add_argument("--data-dir", type=Path, help="where the embedded defaults keep data")
    parser.add_argument(
        "--embedded-broker",
        action="store_true",
        help="use the embedded MQTT 3.1.1 broker even where Mosquitto is installed",
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    overrides: dict[str, str] = {}
    if args.demo:
        overrides["PUST_DEMO"] = "true"
    if args.http_port is not None:
        overrides["PUST_HTTP_PORT"] = str(args.http_port)
    if args.mqtt_port is not None:
        overrides["PUST_MQTT_PORT"] = str(args.mqtt_port)
    if args.data_dir is not None:
        overrides["PUST_DATA_DIR"] = str(args.data_dir.resolve())
    os.environ.update(overrides)
    settings = settings_or_exit()
    data_dir = settings.data_dir.resolve()
    overrides["PUST_DATA_DIR"] = str(data_dir)

    problem = _port_problem(settings)
    if problem:
        print(f"pust: {problem}", file=sys.stderr)
        return 2

    from pust.db.migrate import upgrade

    data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.effective_database_url)
    if settings.demo:
        from pust_cli.demo_seed import seed_demo

        seed_demo(settings)

    metrics_dir = data_dir / "metrics"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    overrides["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    env = child_environment(overrides)

    supervisor = Supervisor()
    if settings.uses_embedded_broker:
        settings, env, problem = _start_demo_broker(
            settings, env, supervisor, embedded=args.embedded_broker
        )
        if problem:
            supervisor.stop()
            print(f"pust: {problem}", file=sys.stderr)
            return 1
    for name in ("ingest", "alerts", "api"):
        supervisor.add(name, [name], env).start()
    if os.environ.get("PUST_BRIDGE_BASE_URL"):
        supervisor.add("bridge", ["bridge"], env).start()

    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()
        supervisor.stopping.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)

    base_url = f"http://{settings.http_host}:{settings.http_port}"
    ready = _wait_ready(base_url, 90, stop)
    if not ready:
        supervisor.stop()
        if stop.is_set():
            return 0
        print(
            "pust: the services did not become ready in 90 s (see the log above)", file=sys.stderr
        )
        return 1

    simulator = (
        _start_simulator(settings, stop) if settings.demo and not args.no_simulator else None
    )
    _print_banner(settings, base_url, time.monotonic() - started, simulator is not None)

    watcher = threading.Thread(target=supervisor.watch, name="supervisor", daemon=True)
    watcher.start()
    stop.wait()
    print("\npust: stopping …", flush=True)
    supervisor.stop()
    if simulator is not None:
        simulator.join(10)
    print("pust: stopped", flush=True)
    return 0


def _start_demo_broker(
    settings: Settings, env: dict[str, str], supervisor: Supervisor, *, embedded: bool
) -> tuple[Settings, dict[str, str], str | None]:
    """Mosquitto with dynamic security where it is installed (MQTT 5 and 3.1.1, the
    production setup), else the embedded broker (MQTT 3.1.1 only). Returns the settings and
    environment the services run with, and a problem if the broker did not start."""
    from pust_cli import demo_mosquitto

    mosquitto = None if embedded else demo_mosquitto.prepare(settings.data_dir, settings.mqtt_port)
    if mosquitto is None:
        supervisor.add("broker", ["broker"], env).start()
        if not _wait_for_port("127.0.0.1", settings.mqtt_port, 20):
            return settings, env, "the embedded MQTT broker did not start"
        return settings, env, None
    env = {**env, **mosquitto.environment()}
    os.environ.update(mosquitto.environment())
    settings = settings_or_exit()
    supervisor.add_program("broker", mosquitto.argv, env).start()
    if not _wait_for_port("127.0.0.1", settings.mqtt_port, 20):
        return settings, env, "Mosquitto did not start (try --embedded-broker)"
    from pust_cli.broker_provision import provision
    from pust_cli.demo_seed import DEMO_PASSWORD

    if settings.demo:
        demo_mosquitto.seal_demo_passwords(settings, DEMO_PASSWORD)
    provision(settings, [])
    return settings, env, None


def _port_problem(settings: Settings) -> str | None:
    if not _port_free(settings.http_host, settings.http_port):
        return (
            f"HTTP port {settings.http_port} is already in use; choose another with "
            f"--http-port (e.g. --http-port {settings.http_port + 1})"
        )
    if settings.uses_embedded_broker and not _port_free("127.0.0.1", settings.mqtt_port):
        return (
            f"MQTT port {settings.mqtt_port} is already in use (is Mosquitto running?); "
            f"choose another with --mqtt-port (e.g. --mqtt-port {settings.mqtt_port + 1}), "
            "or use that broker with PUST_MQTT_URL"
        )
    return None


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _wait_for_port(host: str, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def _wait_ready(base_url: str, timeout: float, stop: threading.Event) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stop.is_set():
        try:
            with urllib.request.urlopen(f"{base_url}/readyz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        stop.wait(0.2)
    return False


def _start_simulator(settings: Settings, stop: threading.Event) -> threading.Thread | None:
    try:
        from pust_cli.simulator.demo import run_demo_simulator
    except ModuleNotFoundError:
        print("pust: the demo simulator is not available in this build", file=sys.stderr)
        return None
    thread = threading.Thread(
        target=run_demo_simulator, args=(settings, stop), name="demo-simulator", daemon=True
    )
    thread.start()
    return thread


def _print_banner(settings: Settings, base_url: str, seconds: float, simulating: bool) -> None:
    from pust_cli.demo_mosquitto import EMBEDDED_NOTE

    lines = [
        "",
        f"pust is running ({seconds:.1f} s to ready)",
        f"  nurse web UI   {base_url}/",
        f"  API (OpenAPI)  {base_url}/openapi.json",
        f"  FHIR R4        {base_url}/fhir/r4/metadata",
        f"  health         {base_url}/healthz  {base_url}/readyz  {base_url}/metrics",
    ]
    if settings.uses_embedded_broker:
        lines.append(
            f"  MQTT broker    mqtt://127.0.0.1:{settings.mqtt_port} (embedded: {EMBEDDED_NOTE})"
        )
    elif settings.provisions_broker and settings.demo:
        lines.append(
            f"  MQTT broker    {settings.effective_mqtt_url} (Mosquitto, MQTT 5 and 3.1.1)"
        )
    else:
        lines.append(f"  MQTT broker    {_hide_password(settings.effective_mqtt_url)}")
    if settings.demo:
        lines.append("  demo logins (password 'demo' for all):")
        lines.extend(f"    {user:<11} {what}" for user, what in DEMO_LOGINS)
        lines.append("  demo tablets: demo-tablet-01 … demo-tablet-12 (MQTT password 'demo')")
        lines.append(f"  simulator: {'running' if simulating else 'off'}")
    lines.append("Press Ctrl-C to stop.")
    print("\n".join(lines), flush=True)


def _hide_password(url: str) -> str:
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    userinfo, host = rest.split("@", 1)
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"
