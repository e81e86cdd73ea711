"""Readiness probes: the database answers a query; the broker answers an MQTT CONNECT."""

from __future__ import annotations

import os
import socket
import struct
from urllib.parse import urlsplit

from sqlalchemy import Engine, text

_MQTT_DEFAULT_PORTS = {"mqtt": 1883, "tcp": 1883, "mqtts": 8883, "ssl": 8883}


def database_reachable(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:  # any failure means not ready
        return False
    return True


def _connect_packet(client_id: str) -> bytes:
    protocol = b"\x00\x04MQTT\x04"  # MQTT 3.1.1
    flags = b"\x02"  # clean session, no credentials
    keepalive = struct.pack("!H", 5)
    cid = client_id.encode()
    payload = struct.pack("!H", len(cid)) + cid
    variable = protocol + flags + keepalive
    remaining = len(variable) + len(payload)
    return bytes([0x10, remaining]) + variable + payload


def broker_reachable(url: str, *, timeout: float = 1.0) -> bool:
    """True when something at ``url`` answers an MQTT CONNECT with a CONNACK.

    A refused CONNACK (e.g. not authorised) still proves the broker is up; TLS brokers
    (mqtts) are checked with a TCP connect only.
    """
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    scheme = parts.scheme or "mqtt"
    port = parts.port or _MQTT_DEFAULT_PORTS.get(scheme, 1883)
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            if scheme in ("mqtts", "ssl"):
                return True
            sock.settimeout(timeout)
            sock.sendall(_connect_packet(f"pust-readyz-{os.urandom(4).hex()}"))
            answer = sock.recv(4)
            connected = len(answer) >= 2 and answer[0] == 0x20
            if connected and len(answer) == 4 and answer[3] == 0:
                sock.sendall(b"\xe0\x00")  # DISCONNECT
            return connected
    except OSError:
        return False
