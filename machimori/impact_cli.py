"""`machimori heat impact`: did a cool spot or a shop's mist change how many people pass?"""

from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:
    from machimori.cli import subgroup

    from .heat_cli import HEAT_GROUP

    heat = subgroup(sub, "heat", "heat-stress tools for planners", HEAT_GROUP)
    p = heat.add_parser(
        "impact", help="people-flow change at treated sites (difference in differences)",
        description="Estimate the relative change in people counted at treated sites after "
        "--start, against comparison sites, adjusted for heat (WBGT), the weekly rhythm and "
        "day-to-day events, with a 95 %% interval clustered by day (docs/impact.md).")
    p.add_argument("--counts", required=True,
                   help="CSV with a header: time,site,count[,wbgt] (time ISO 8601 or Unix s)")
    p.add_argument("--treated", required=True, help="treated sites, comma-separated")
    p.add_argument("--control", required=True, help="comparison sites, comma-separated")
    p.add_argument("--start", required=True,
                   help="when the treatment started (ISO 8601; no zone = Japan time)")
    p.add_argument("--json", action="store_true", help="print the whole result as JSON")
    p.set_defaults(func=run)


def _sites(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]


def run(args: argparse.Namespace) -> int:
    from machimori.impact import ImpactError, estimate, parse_start, read_counts

    try:
        start = parse_start(args.start)
        counts = read_counts(args.counts)
    except (ImpactError, OSError, UnicodeDecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    res = estimate(counts, _sites(args.treated), _sites(args.control), start)
    if args.json:
        print(json.dumps(res.to_json(), ensure_ascii=False, indent=1))
    else:
        print(res.reading_ja)
        print(res.reading_en)
    return 0
