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
        "--svg",
        type=Path,
        default=Path("pust-evaluation.svg"),
        help="where to write the figure (default: ./pust-evaluation.svg)",
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from pust_cli.evaluate.configurations import run_evaluation
    from pust_cli.evaluate.report import render_svg, render_table

    if args.citizens < 1 or args.weeks < 3:
        print("pust evaluate: needs at least 1 citizen and 3 weeks (2 weeks are run-in)")
        return 2
    run = run_evaluation(citizens=args.citizens, weeks=args.weeks, seed=args.seed)
    print(render_table(run))
    args.svg.parent.mkdir(parents=True, exist_ok=True)
    args.svg.write_text(render_svg(run), encoding="utf-8")
    print(f"\nfigure written to {args.svg}")
    return 0
