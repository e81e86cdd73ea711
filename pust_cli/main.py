"""The `pust` command. Each subcommand lives in its own module under pust_cli.commands and
is imported only when the command line is parsed (nothing heavy at import time)."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Modules exposing ``register(subparsers)``; add a line to add a command.
COMMAND_MODULES = (
    "pust_cli.commands.up",
    "pust_cli.commands.services",
    "pust_cli.commands.migrate",
    "pust_cli.commands.simulate",
    "pust_cli.commands.evaluate",
    "pust_cli.commands.bench",
    "pust_cli.commands.fhir",
    "pust_cli.commands.admin",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pust",
        description="pust: home telemonitoring backend for citizens with COPD (KOL)",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    result: int = args.handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
