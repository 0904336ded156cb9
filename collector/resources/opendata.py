"""Import and export of the Japanese open-data layouts (layouts.py) as CSV, GeoJSON and
NGSI-LD.

Import reads a whole file before it writes anything: the encoding (UTF-8 with or without BOM,
else Shift_JIS / CP932), the layout (from the header), then every row is checked; one bad row
and nothing of the file is written, with the line number in the error. The writes happen in
one transaction; a row already imported (same dataset and key, whatever the file's encoding)
is updated, not duplicated. Every value is kept as text: codes keep their leading zeros.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ..db import Database
from . import model
from .layouts import (
    BY_NAME,
    CODE_COLUMNS,
    COLUMN_FIELDS,
    INTEGER_COLUMNS,
    LAYOUTS,
    Layout,
    canonical,
    recognise,
)
from .model import Resource

MAX_BYTES = 50 * 1024 * 1024
_AREA = re.compile(r"^(?:.{2,3}?[都道府県])?(?:.+?[市郡])?(?:.+?[区町村])?(?P<area>[^0-9０-９\-－ー丁番]+)")


class ImportError_(ValueError):
    """The file cannot be imported; the message says where and why."""


@dataclass
class RowProblem:
    line: int
    message: str


@dataclass
class ImportResult:
    file: str
    encoding: str
    layout: str
    dataset: str
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowProblem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "encoding": self.encoding, "layout": self.layout,
                "dataset": self.dataset, "rows": self.rows, "inserted": self.inserted,
                "updated": self.updated, "unchanged": self.unchanged,
                "errors": [{"line": e.line, "message": e.message} for e in self.errors]}


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding name). A BOM means UTF-8; else strict UTF-8; else CP932."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp932"), "cp932"
    except UnicodeDecodeError as exc:
        raise ImportError_(f"neither UTF-8 nor Shift_JIS (CP932): byte {exc.start}") from exc


def _rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """(first line number, cells) of each record; quoted fields may span lines."""
    reader = csv.reader(io.StringIO(text, newline=""))
    start = 1
    for cells in reader:
        yield start, cells
        start = reader.line_num + 1


def _check(col: str, value: str) -> str | None:
    if not value:
        return None
    if col in CODE_COLUMNS:
        lo, hi = CODE_COLUMNS[col]
        if not value.isascii() or not value.isdigit() or not lo <= len(value) <= hi:
            return f"{col} {value!r}: {lo}–{hi} digits expected" if lo != hi else \
                f"{col} {value!r}: {lo} digits expected"
    elif col in INTEGER_COLUMNS:
        if not value.isascii() or not value.isdigit():
            return f"{col} {value!r}: a whole number expected"
    elif col in ("緯度", "経度"):
        try:
            v = Decimal(value)
        except InvalidOperation:
            return f"{col} {value!r}: a number expected"
        limit = 90 if col == "緯度" else 180
        if not v.is_finite() or abs(v) > limit:
            return f"{col} {value!r}: out of range"
    return None


def _area(fields_: dict[str, str]) -> str:
    if fields_.get("area"):
        return fields_["area"]
    m = _AREA.match(fields_.get("address", ""))
    return m.group("area") if m else ""


def row_to_resource(layout: Layout, row: dict[str, str], line: int, file: str) -> Resource:
    """Pure: one checked row of a layout to a resource (raises ImportError_ with the reason)."""
    for col, value in row.items():
        problem = _check(col, value)
        if problem:
            raise ImportError_(problem)
    f: dict[str, str] = {}
    for col in layout.columns:
        target = COLUMN_FIELDS.get(col)
        if target and row.get(col) and not f.get(target):
            f[target] = row[col]
    if not f.get("name"):
        if "名称" in layout.columns:
            raise ImportError_("名称 is empty")
        f["name"] = " ".join(v for v in (f.get("kind", ""), f.get("source_id", "")) if v)
        if not f["name"]:
            raise ImportError_("a row needs 種別 or ID")
    lat, lon = f.get("lat"), f.get("lon")
    if bool(lat) != bool(lon):
        raise ImportError_("緯度 and 経度: both or neither")
    key_vals = [row.get(c, "") for c in layout.key]
    if key_vals and key_vals[-1]:
        key = "|".join(key_vals)
    else:  # no ID in the file (common in real files): the row is known by its name and place
        key = "~" + "|".join([key_vals[0] if key_vals else "", f["name"], f.get("address", ""),
                              lat or "", lon or ""])
    tags = [t.strip() for t in f.get("tags", "").split(";")]
    if f.get("kind"):
        tags.append(f["kind"])
    return Resource(
        category=layout.category, name=f["name"][:200], name_kana=f.get("name_kana", ""),
        name_en=f.get("name_en", ""), description=f.get("description", ""),
        kind=f.get("kind", ""), address=f.get("address", ""), area=_area(f),
        lat=float(lat) if lat else None, lon=float(lon) if lon else None,
        tags=model.clean_tags([t[:model.MAX_TAG_LEN] for t in tags][:model.MAX_TAGS]),
        owner_name=f.get("owner_name", ""), contact=f.get("contact", ""),
        url=f.get("url", "") if f.get("url", "").startswith(("http://", "https://")) else "",
        dataset=layout.name, source_key=key, source_file=file, source_line=line,
        source_row=row)


def parse(data: bytes, file: str) -> tuple[ImportResult, list[Resource]]:
    """Everything short of writing: the result has errors when any row is bad."""
    if len(data) > MAX_BYTES:
        raise ImportError_(f"{file}: larger than {MAX_BYTES // (1024 * 1024)} MB")
    text, enc = decode(data)
    rows = _rows(text)
    try:
        _, header = next(rows)
    except StopIteration:
        raise ImportError_(f"{file}: empty file") from None
    layout, _score = recognise(header)
    if layout is None:
        shown = ", ".join(h.strip().lstrip("\ufeff") for h in header[:12])
        known = ", ".join(sorted({f"{lay.dataset} ({lay.generation})" for lay in LAYOUTS}))
        raise ImportError_(f"{file}: unknown layout (header: {shown}); "
                           f"known layouts: {known}")
    names = canonical(layout, header)
    res = ImportResult(file, enc, layout.name, layout.dataset)
    out: list[Resource] = []
    seen: dict[str, int] = {}
    for line, cells in _rows(text):
        if line == 1:
            continue
        if not any(c.strip() for c in cells):
            continue  # blank line
        res.rows += 1
        if len(cells) > len(names) and any(c.strip() for c in cells[len(names):]):
            res.errors.append(RowProblem(line, f"{len(cells)} cells, the header has "
                                               f"{len(names)}"))
            continue
        row = {n: (cells[i].strip() if i < len(cells) else "")
               for i, n in enumerate(names) if n}
        try:
            r = row_to_resource(layout, row, line, file)
        except ImportError_ as exc:
            res.errors.append(RowProblem(line, str(exc)))
            continue
        key = str(r.source_key)
        if key in seen and key.startswith("~"):
            # Rows without an ID that look alike (hydrants without an address) are told
            # apart by their order in the file, which a re-import of the file keeps.
            n = 2
            while f"{key}#{n}" in seen:
                n += 1
            key = f"{key}#{n}"
            r = replace(r, source_key=key)
        elif key in seen:
            res.errors.append(RowProblem(line, f"same ID as line {seen[key]}"))
            continue
        seen[key] = line
        out.append(r)
    return res, out


def import_bytes(db: Database, data: bytes, file: str) -> ImportResult:
    """Parse, then write all rows in one transaction, or nothing when a row is bad."""
    res, items = parse(data, file)
    if res.errors:
        return res
    db.begin()
    try:
        for r in items:
            old = model.find_source(db, str(r.dataset), str(r.source_key))
            if old is None:
                model.save(db, r)
                res.inserted += 1
                continue
            # Keep what people added on top of the open data: status, visibility, photos,
            # owner; take the dataset's own fields fresh.
            new = replace(r, id=old.id, status=old.status, visibility=old.visibility,
                          review=old.review, owner_id=old.owner_id,
                          category=old.category,
                          tags=tuple(dict.fromkeys((*r.tags, *old.tags))))
            if _same(old, new):
                res.unchanged += 1
                continue
            model.save(db, new)
            res.updated += 1
        db.commit()
    except BaseException:
        db.rollback()
        raise
    return res


def _same(a: Resource, b: Resource) -> bool:
    ignore = {"source_file", "source_line"}
    return all(getattr(a, k) == getattr(b, k) for k in model.COLUMNS if k not in ignore)


def import_file(db: Database, path: str | Path) -> ImportResult:
    p = Path(path)
    return import_bytes(db, p.read_bytes(), p.name)


# --- export ---------------------------------------------------------------------------------



def _row_out(layout: Layout, r: Resource) -> dict[str, str]:
    """The layout's columns for a resource: its source row, with the catalogue's current
    values for the mapped fields (a planner's correction is exported)."""
    row = {c: "" for c in layout.columns}
    if r.source_row:
        row.update({k: v for k, v in r.source_row.items() if k in row})
    current = {"name": r.name, "name_kana": r.name_kana, "name_en": r.name_en,
               "address": r.address, "url": r.url,
               "lat": _coord(r.lat), "lon": _coord(r.lon)}
    for col in layout.columns:
        target = COLUMN_FIELDS.get(col)
        if target in current and current[target] != "" and not (
                target in ("lat", "lon") and r.source_row and row.get(col) and
                float(row[col]) == getattr(r, target)):
            row[col] = str(current[target])
    if r.source_row is None:  # a resource entered by hand: name and place in the layout
        for col, target in COLUMN_FIELDS.items():
            if col in row and target in current and not row[col]:
                row[col] = str(current[target])
    return row


def _coord(v: float | None) -> str:
    return "" if v is None else repr(v)


def exported(db: Database, dataset: str | None) -> list[tuple[Layout, Resource]]:
    """Approved public resources of one layout (all imported layouts when None)."""
    if dataset is not None and dataset not in BY_NAME:
        raise ImportError_(f"unknown dataset {dataset!r}; known: {', '.join(BY_NAME)}")
    sql = (f"SELECT {model.SELECT_R} FROM resources r WHERE review = 'approved' AND visibility = 'public' "
           "AND dataset IS NOT NULL")
    args: list[Any] = []
    if dataset:
        sql += " AND dataset = ?"
        args.append(dataset)
    rows = db.execute(sql + " ORDER BY dataset, id", args).fetchall()
    return [(BY_NAME[row["dataset"]], model.from_row(row)) for row in rows
            if row["dataset"] in BY_NAME]


def to_csv(items: list[tuple[Layout, Resource]], layout: Layout | None = None) -> str:
    """One layout's CSV (its header alone when it has no rows)."""
    if len({lay.name for lay, _ in items}) > 1:
        raise ImportError_("CSV holds one layout: give --dataset")
    if items:
        layout = items[0][0]
    if layout is None:
        return ""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(layout.columns)
    for _, r in items:
        row = _row_out(layout, r)
        w.writerow([row[c] for c in layout.columns])
    return buf.getvalue()


def to_geojson(items: list[tuple[Layout, Resource]]) -> dict[str, Any]:
    feats = []
    for layout, r in items:
        geom = ({"type": "Point", "coordinates": [r.lon, r.lat]}
                if r.lat is not None and r.lon is not None else None)
        feats.append({"type": "Feature", "geometry": geom,
                      "properties": {"dataset": layout.dataset, "layout": layout.name,
                                     **_row_out(layout, r)}})
    return {"type": "FeatureCollection", "features": feats}


NGSI_CONTEXT = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"


def to_ngsi_ld(items: list[tuple[Layout, Resource]]) -> list[dict[str, Any]]:
    """Normalized NGSI-LD entities; the layout's columns become Properties under their
    Japanese names (the core context's default vocabulary expands them)."""
    out = []
    for layout, r in items:
        row = _row_out(layout, r)
        ent: dict[str, Any] = {
            "id": f"urn:ngsi-ld:{layout.ngsi_type}:{r.source_key or r.id}".replace("|", "-"),
            "type": layout.ngsi_type, "@context": [NGSI_CONTEXT],
            "name": {"type": "Property", "value": r.name},
            "dataset": {"type": "Property", "value": layout.dataset},
        }
        if r.lat is not None and r.lon is not None:
            ent["location"] = {"type": "GeoProperty",
                               "value": {"type": "Point", "coordinates": [r.lon, r.lat]}}
        for col, value in row.items():
            if value and col not in ("緯度", "経度"):
                ent[col] = {"type": "Property", "value": value}
        out.append(ent)
    return out
