"""`pust evaluate`: replay a simulated cohort through pust's triage; does it save nurse time?"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="clinical evaluation: replay a simulated cohort through the real triage",
        description=(
            "Simulates a seeded COPD cohort with exacerbations (ground truth), replays every "
            "message through the protocol validator, triage, alert and missed-measurement "
            "rules, and reports detection and nurse workload as a table and an SVG figure."
        ),
    )
    parser.add_argument("--citizens", type=int, default=50)
    parser.add_argument("--weeks", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--cohort",
        type=Path,
        default=None,
        metavar="DIR",
        help="replay an external recording instead (docs/cohort-format.md)",
    )
    parser.add_argument(
        "--from-database",
        action="store_true",
        help="what-if on the clinic's own history (read-only, audited): with --team, "
        "--since and --rules",
    )
    parser.add_argument("--team", default=None, help="the care team's name (--from-database)")
    parser.add_argument("--since", default="28d", help="the past period, e.g. 28d or 4w")
    parser.add_argument(
        "--rules",
        type=Path,
        default=None,
        metavar="FILE",
        help="the proposed rule set (RuleSet JSON as the limits editor stores it)",
    )
    parser.add_argument(
        "--svg",
        type=Path,
        default=Path("pust-evaluation.svg"),
        help="where to write the figure (default: ./pust-evaluation.svg)",
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from pust_cli.evaluate.configurations import run_evaluation
    from pust_cli.evaluate.report import render_svg, render_table

    if args.cohort is not None:
        return _run_cohort(args)
    if args.from_database:
        return _run_what_if(args)
    if args.citizens < 1 or args.weeks < 3:
        print("pust evaluate: needs at least 1 citizen and 3 weeks (2 weeks are run-in)")
        return 2
    run = run_evaluation(citizens=args.citizens, weeks=args.weeks, seed=args.seed)
    print(render_table(run))
    args.svg.parent.mkdir(parents=True, exist_ok=True)
    args.svg.write_text(render_svg(run), encoding="utf-8")
    print(f"\nfigure written to {args.svg}")
    return 0


def _run_cohort(args: argparse.Namespace) -> int:
    from pust.evaluation.cohort_format import InvalidCohortError
    from pust_cli.evaluate.cohort_dir import evaluate_cohort, read_cohort_dir
    from pust_cli.evaluate.report import render_table

    try:
        loaded = read_cohort_dir(args.cohort)
    except FileNotFoundError as exc:
        print(f"pust evaluate: {exc.filename} not found (a cohort needs messages.jsonl)")
        return 2
    except InvalidCohortError as exc:
        print(f"pust evaluate: {args.cohort} cannot be replayed:")
        for problem in exc.problems:
            print(f"  {problem.describe()}")
        return 2
    result = evaluate_cohort(loaded)
    recording = loaded.recording
    header = (
        f"pust evaluate — cohort {args.cohort}: {len(recording.device_ids)} citizens, "
        f"{recording.days} days from {recording.start.isoformat()}"
        + ("" if result.has_ground_truth else " (no episodes.jsonl: the burden only)")
    )
    print(render_table(result.run, header=header, burden_only=not result.has_ground_truth))
    if result.problems:
        print(f"\n{len(result.problems)} line(s) of the cohort not replayed or rejected:")
        for problem in result.problems:
            print(f"  {problem.describe()}")
    return 1 if result.problems else 0


def _run_what_if(args: argparse.Namespace) -> int:
    import json

    from pust.db.engine import build_engine, session_scope
    from pust.domain.clock import SystemClock
    from pust.domain.limits import InvalidRuleSetError, parse_rule_set
    from pust_cli.evaluate.what_if_run import (
        UnknownTeamError,
        cli_actor,
        parse_since,
        render_what_if,
        team_what_if,
    )
    from pust_cli.settings_loading import settings_or_exit

    if args.team is None or args.rules is None:
        print("pust evaluate --from-database: needs --team and --rules")
        return 2
    try:
        since = parse_since(args.since)
        document = json.loads(args.rules.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        print(f"pust evaluate: {exc}")
        return 2
    try:
        proposed = parse_rule_set(document)
    except InvalidRuleSetError as exc:
        print(f"pust evaluate: {args.rules} is not a usable rule set:")
        for problem in exc.problems:
            print(f"  {problem}")
        return 2
    engine = build_engine(settings_or_exit().effective_database_url, pool_size=1)
    try:
        with session_scope(engine) as session:
            run = team_what_if(
                session,
                team_name=args.team,
                since=since,
                proposed=proposed,
                now=SystemClock().now(),
                actor=cli_actor(),
            )
    except UnknownTeamError:
        print(f"pust evaluate: no care team named {args.team!r}")
        return 2
    finally:
        engine.dispose()
    print(render_what_if(run))
    return 0
