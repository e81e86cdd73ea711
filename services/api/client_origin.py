"""Where a request came from: the client's address and whether it arrived over HTTPS.

Behind a reverse proxy the TCP peer is the proxy; its ``X-Forwarded-For`` and
``X-Forwarded-Proto`` are believed only when the peer is one of the configured trusted
proxies (``PUST_API_TRUSTED_PROXIES``, default loopback). Anyone else's forwarded headers
are ignored, so a client cannot pretend to come over HTTPS or from another address.

A plain ASGI middleware that rewrites ``scope["client"]`` and ``scope["scheme"]``, so
``request.client.host`` and ``request.url.scheme`` mean the real client everywhere (login
throttling, HSTS, redirects). It replaces uvicorn's own proxy-header handling, which is
turned off in ``main.py`` (one place decides whom to believe).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from services.api.settings import IpNetwork


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def is_trusted(host: str, trusted: Iterable[IpNetwork]) -> bool:
    address = _address(host)
    return address is not None and any(address in network for network in trusted)


def _header(scope: Scope, name: bytes) -> str | None:
    values = [v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == name]
    return ",".join(values) if values else None


def forwarded_client(peer: str, forwarded_for: str | None, trusted: Iterable[IpNetwork]) -> str:
    """The first address, from the right, that is not a trusted proxy (each proxy appends the
    address it received the request from)."""
    networks = tuple(trusted)
    if not forwarded_for:
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if _address(hop) is None:
            return peer  # garbage in the chain: believe nothing beyond our proxy
        if not is_trusted(hop, networks):
            return hop
    return hops[0] if hops else peer


class ClientOriginMiddleware:
    def __init__(self, app: ASGIApp, *, trusted: tuple[IpNetwork, ...]) -> None:
        self.app = app
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            client = scope.get("client")
            peer = client[0] if client else ""
            if is_trusted(peer, self.trusted):
                scope = dict(scope)
                proto = _header(scope, b"x-forwarded-proto")
                if proto:
                    last = proto.split(",")[-1].strip().lower()
                    if last in ("http", "https"):
                        secure = last == "https"
                        if scope["type"] == "websocket":
                            scope["scheme"] = "wss" if secure else "ws"
                        else:
                            scope["scheme"] = last
                forwarded = forwarded_client(peer, _header(scope, b"x-forwarded-for"), self.trusted)
                if forwarded != peer:
                    scope["client"] = (forwarded, 0)
        await self.app(scope, receive, send)


def came_over_https(scope: Scope) -> bool:
    return scope.get("scheme") in ("https", "wss")
