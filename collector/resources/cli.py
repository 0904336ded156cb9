"""`machimori collector resources import|export`: open data into and out of the catalogue."""

from __future__ import annotations

import argparse
import json
import sys

from ..cli import add_db_argument


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("resources", help="local resources: open-data import and export",
                       description="The local-resource catalogue (docs/resources.md).")
    inner = p.add_subparsers(dest="resources_command", metavar="RESOURCES_COMMAND")
    inner.required = True
    imp = inner.add_parser(
        "import", help="import open-data CSV files (layout recognised from the header)",
        description="Import CSV files in the 自治体標準オープンデータセット or 推奨データセット "
                    "layouts. Each file is one transaction: a bad row imports nothing of it. "
                    "Prints one JSON object per file.")
    add_db_argument(imp)
    imp.add_argument("files", nargs="+", metavar="FILE")
    imp.set_defaults(func=_cmd_import)
    exp = inner.add_parser("export", help="export the catalogue in the open-data layouts",
                           description="Write the imported layouts back, to stdout or --out.")
    add_db_argument(exp)
    exp.add_argument("--format", choices=("csv", "geojson", "ngsi-ld"), default="csv",
                     help="csv (one layout: give --dataset), geojson or ngsi-ld")
    exp.add_argument("--dataset", default=None,
                     help="layout name, e.g. std_tourism or rec_public_facility")
    exp.add_argument("--out", default=None, help="file to write (default: stdout)")
    exp.set_defaults(func=_cmd_export)


def _open(url: str):
    from ..store import connect, migrate

    db = connect(url)
    migrate(db)
    return db


def _cmd_import(args: argparse.Namespace) -> int:
    from .opendata import ImportError_, import_file

    db = _open(args.db)
    failed = 0
    try:
        for i, path in enumerate(args.files, 1):
            print(f"[{i}/{len(args.files)}] {path}", file=sys.stderr)
            try:
                out = import_file(db, path).as_dict()
            except (ImportError_, OSError) as exc:
                out = {"file": path, "error": str(exc)}
            if out.get("error") or out.get("errors"):
                failed += 1
                out["imported"] = False
            else:
                out["imported"] = True
            print(json.dumps(out, ensure_ascii=False))
    finally:
        db.close()
    return 1 if failed else 0


def _cmd_export(args: argparse.Namespace) -> int:
    from .layouts import BY_NAME
    from .opendata import ImportError_, exported, to_csv, to_geojson, to_ngsi_ld

    db = _open(args.db)
    try:
        items = exported(db, args.dataset)
        if args.format == "csv":
            text = to_csv(items, BY_NAME.get(args.dataset or ""))
        elif args.format == "geojson":
            text = json.dumps(to_geojson(items), ensure_ascii=False, indent=1) + "\n"
        else:
            text = json.dumps(to_ngsi_ld(items), ensure_ascii=False, indent=1) + "\n"
    except ImportError_ as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        db.close()
    if args.out:
        with open(args.out, "w", encoding="utf-8", newline="") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0
