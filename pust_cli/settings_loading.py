"""Load settings for a command, turning validation errors into one clear line."""

from __future__ import annotations

import sys

from pydantic import ValidationError

from pust.config.settings import Settings, load_settings


def settings_or_exit(**overrides: object) -> Settings:
    try:
        return load_settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        print(f"pust: invalid configuration ({where}): {first['msg']}", file=sys.stderr)
        raise SystemExit(2) from exc
