"""The collector's Flask application: one factory, a blueprint per area."""

from __future__ import annotations

import importlib
from typing import Any

from flask import Flask, g, redirect, request, url_for

from .db import Database
from .store import connect, migrate

# One module per area, each with a Blueprint `bp`. Add a line per area.
BLUEPRINT_MODULES = [
    "collector.auth",
    "collector.api",
    "collector.api_data",
    "collector.heat",
    "collector.heat_api",
    "collector.residents",
    "collector.admin",
    "collector.metrics",
    "collector.ngsi",
    "collector.owntracks",
    "collector.impact",
    "collector.shops_web",
    "collector.coolspots.api",
    "collector.watch.pages",
    "collector.watch.app_api",
    "collector.coolspots.pages",
    "collector.resources.pages",
    "collector.resources.api",
    "collector.api_actuators",
]


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(
        DATABASE="data/collector.sqlite",
        BASEMAP=None,  # optional GeoJSON file with streets for the maps
        LIVE_REFRESH_MS=2000,
        # Map tiles (XYZ URL template; empty: the offline base only) and their attribution.
        TILE_URL="https://cyberjapandata.gsi.go.jp/xyz/pale/{z}/{x}/{y}.png",
        TILE_ATTRIBUTION="地理院タイル",
        TILE_ATTRIBUTION_URL="https://maps.gsi.go.jp/development/ichiran.html",
        STALE_AFTER_S=900.0,  # a sensor this far behind the town's newest reading is greyed
        SECRET_KEY=None,  # default: generated and stored in the database
        SESSION_COOKIE_SECURE=False,  # set True behind HTTPS (MACHIMORI_SESSION_COOKIE_SECURE)
    )
    app.config.from_prefixed_env("MACHIMORI")
    if test_config:
        app.config.update(test_config)
    init = connect(app.config["DATABASE"])
    migrate(init)
    if not app.config.get("SECRET_KEY"):
        # Generated once and kept in the database, so every web worker signs alike.
        from .users import app_secret

        app.config["SECRET_KEY"] = app_secret(init, "session")
    init.close()
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.config.setdefault("PERMANENT_SESSION_LIFETIME", 12 * 3600)

    from .auth import csrf_token

    app.jinja_env.globals["csrf_token"] = csrf_token

    for name in BLUEPRINT_MODULES:
        app.register_blueprint(importlib.import_module(name).bp)

    from .csp import content_security_policy

    csp = content_security_policy(app.config["TILE_URL"])

    @app.after_request
    def security_headers(resp: Any) -> Any:
        # Every response, pages and API alike: scripts and styles only from our own files.
        resp.headers["Content-Security-Policy"] = csp
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        return resp

    @app.get("/")
    def index() -> Any:
        args: dict[str, Any] = request.args.to_dict()
        return redirect(url_for("heat.page", **args))

    @app.teardown_appcontext
    def close_db(exc: BaseException | None) -> None:
        db = g.pop("db", None)
        if db is not None:
            db.close()

    return app


def get_db() -> Database:
    from flask import current_app

    if "db" not in g:
        g.db = connect(current_app.config["DATABASE"], readonly=True)
    return g.db
