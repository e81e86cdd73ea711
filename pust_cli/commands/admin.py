"""`pust admin create`: create a staff account from the command line (the first
administrator of a new installation, or a break-glass account).

    pust admin create --username anne --role administrator [--display-name …] [--team …]

The password is asked twice (never taken on the command line, where the shell history and
``ps`` would keep it) and refused when it is short or easy to guess. The account is written
to the configured database (``PUST_DATABASE_URL``) with an audit event; an existing
username is an error and changes nothing.
"""

from __future__ import annotations

import argparse
import getpass
import re
import sys

ROLES = ("administrator", "team_lead", "nurse", "integrator")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,119}$")
EXIT_REFUSED = 1
EXIT_EXISTS = 3


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("admin", help="staff accounts: create one")
    commands = parser.add_subparsers(dest="admin_command", required=True, metavar="SUBCOMMAND")
    create = commands.add_parser(
        "create", help="create a staff account (asks for the password twice)"
    )
    create.add_argument("--username", required=True, help="login name: a-z, 0-9, . _ -")
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--display-name", help="name shown in the UI (default: the username)")
    create.add_argument("--email")
    create.add_argument("--team", action="append", default=[], help="care team name (repeatable)")
    create.set_defaults(handler=_create)


def _error(message: str) -> None:
    print(f"pust: {message}", file=sys.stderr)


def _ask_password(username: str) -> str | None:
    from services.api.auth.password_policy import password_problems

    password = getpass.getpass(f"Password for {username}: ")
    problems = password_problems(password, username=username)
    if problems:
        _error("password refused: " + "; ".join(problems))
        return None
    if getpass.getpass("Repeat the password: ") != password:
        _error("the passwords differ; nothing was created")
        return None
    return password


def _create(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import IntegrityError
    from sqlmodel import Session, col, select

    from pust.db.engine import build_engine
    from pust.db.tables import AuditEvent, CareTeam, StaffMembership, StaffUser
    from pust.domain.clock import SystemClock
    from pust_cli.settings_loading import settings_or_exit
    from services.api.auth.passwords import hash_password

    username: str = args.username
    if not USERNAME.match(username):
        _error("the username may have 2-120 of a-z, 0-9, '.', '_', '-' (starting a-z or 0-9)")
        return EXIT_REFUSED
    engine = build_engine(settings_or_exit().effective_database_url, pool_size=1)
    exists = f"a staff account named {username!r} exists already; nothing was changed"
    try:
        with Session(engine) as session:
            if session.exec(select(StaffUser.id).where(StaffUser.username == username)).first():
                _error(exists)
                return EXIT_EXISTS
            teams = list(session.exec(select(CareTeam).where(col(CareTeam.name).in_(args.team))))
            missing = sorted(set(args.team) - {t.name for t in teams})
            if missing:
                _error("no care team named " + ", ".join(repr(m) for m in missing))
                return EXIT_REFUSED
            password = _ask_password(username)
            if password is None:
                return EXIT_REFUSED
            now = SystemClock().now()
            user = StaffUser(
                username=username,
                display_name=args.display_name or username,
                role=args.role,
                email=args.email,
                password_hash=hash_password(password),
                created_at=now,
            )
            session.add(user)
            session.flush()
            user_id = user.id
            session.add_all([StaffMembership(staff_id=user_id, care_team_id=t.id) for t in teams])
            session.add(
                AuditEvent(
                    at=now,
                    actor_username=f"cli:{getpass.getuser()}"[:120],
                    actor_role="administrator",
                    action="staff.create",
                    resource_type="staff",
                    resource_id=str(user_id),
                    outcome="success",
                )
            )
            try:
                session.commit()
            except IntegrityError:  # created meanwhile by someone else
                _error(exists)
                return EXIT_EXISTS
    finally:
        engine.dispose()
    print(f"created {args.role} {username!r} ({user_id})")
    return 0
