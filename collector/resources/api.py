"""GET /api/v1/resources: the public catalogue search (members-only resources too when signed
in), in keyset pages: {"items", "next"} and, with facets=1, {"facets"}."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify, request

from ..app import get_db
from . import model
from .search import SearchError, facets, parse_query, search

bp = Blueprint("resources_api", __name__, url_prefix="/api/v1")


@bp.get("/resources")
def resources() -> Any:
    try:
        q = parse_query(request.args.to_dict(), members=g.principal is not None)
    except SearchError as exc:
        resp = jsonify({"error": "bad_request", "message": str(exc)})
        resp.status_code = 400
        return resp
    db = get_db()
    items, nxt = search(db, q)
    out: dict[str, Any] = {"items": [model.public_dict(r) for r in items],
                           "next": str(nxt) if nxt is not None else None}
    if request.args.get("facets") == "1":
        out["facets"] = facets(db, q)
    return jsonify(out)
