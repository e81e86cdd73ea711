"""The app's route table, flattened (FastAPI keeps included routers nested)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts


@dataclass(frozen=True)
class RouteInfo:
    method: str
    path: str
    include_in_schema: bool


def all_routes(app: FastAPI) -> list[RouteInfo]:
    found = []
    for context in iter_route_contexts(app.routes):
        methods = getattr(context, "methods", None) or set()
        for method in sorted(set(methods) - {"HEAD", "OPTIONS"}):
            found.append(
                RouteInfo(
                    method, str(context.path), bool(getattr(context, "include_in_schema", True))
                )
            )
    return found
