"""`pust migrate`: bring the database schema up to date."""

from __future__ import annotations

import argparse

from pust_cli.settings_loading import settings_or_exit


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("migrate", help="apply database migrations")
    parser.add_argument("--revision", default="head")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from pust.db.migrate import upgrade

    settings = settings_or_exit()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.effective_database_url, args.revision)
    print(f"database migrated to {args.revision}")
    return 0
