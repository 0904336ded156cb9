"""`machimori collector run|migrate`: the ingest worker and the web server in one process."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from .cli import add_db_argument

log = logging.getLogger("machimori.collector")


def register(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser("run", help="run ingest and the web server",
                       description="Subscribe to the broker, store what arrives, serve the web "
                                   "pages and the API.")
    add_db_argument(r)
    r.add_argument("--mqtt", default="mqtt://127.0.0.1:1883", help="broker URL")
    r.add_argument("--mqtt-username", default=None, help="broker user name")
    r.add_argument("--mqtt-ca", default=None,
                   help="with an mqtts:// URL: CA certificate file the broker's is checked "
                        "against (default: the system's CAs)")
    r.add_argument("--mqtt-cert", default=None,
                   help="with an mqtts:// URL: client certificate file (needs --mqtt-key)")
    r.add_argument("--mqtt-key", default=None, help="the client certificate's key file")
    r.add_argument("--client-id", default="machimori-collector",
                   help="MQTT client id; the persistent session is kept under it")
    r.add_argument("--mqtt-version", type=int, choices=[3, 5], default=3,
                   help="MQTT protocol: 3 (3.1.1, works with every broker) or 5")
    r.add_argument("--shared-group", default=None,
                   help="share the stream with other collectors in this group "
                        "($share/<group>/...): each message goes to one of them")
    r.add_argument("--host", default="127.0.0.1", help="web server address (default 127.0.0.1)")
    r.add_argument("--port", type=int, default=8080, help="web server port (default 8080)")
    r.add_argument("--basemap", default=None, help="GeoJSON file of streets for the maps")
    r.add_argument("--retention-days", type=float, default=None,
                   help="every hour, fold summary windows older than this into hourly rows")
    r.add_argument("--phone-silence-hours", type=float, default=6.0,
                   help="a linked phone silent this long raises phone_silent (default 6; "
                        "per phone: collector phone link --max-silence)")
    r.add_argument("--no-web", action="store_true", help="ingest only")
    r.add_argument("--no-ingest", action="store_true", help="web only")
    r.add_argument("--no-actuators", action="store_true",
                   help="do not run the cool-spot actuator controller (docs/actuators.md)")
    from machimori import logs

    logs.add_arguments(r)
    r.add_argument("--influx-url", default=None,
                   help="also write summaries to this InfluxDB v2 write API (docs/influx.md)")
    r.add_argument("--influx-org", default="machimori", help="InfluxDB organisation")
    r.add_argument("--influx-bucket", default="machimori", help="InfluxDB bucket")
    r.add_argument("--influx-token", default=None,
                   help="InfluxDB token (better: the MACHIMORI_INFLUX_TOKEN environment variable)")
    from .watch.config import add_arguments as add_watch_arguments

    add_watch_arguments(r)
    r.add_argument("--no-watch", action="store_true",
                   help="run no alert engine or notifier (docs/watch.md)")
    r.set_defaults(func=_cmd_run)

    m = sub.add_parser("migrate", help="apply database migrations",
                       description="Create or upgrade the database schema.")
    add_db_argument(m)
    m.set_defaults(func=_cmd_migrate)


def _cmd_migrate(args: argparse.Namespace) -> int:
    from .store import connect, migrate

    db = connect(args.db)
    applied = migrate(db)
    db.close()
    print("applied: " + (", ".join(applied) if applied else "nothing (up to date)"))
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    import os

    from machimori import logs

    logs.setup(args.log_level, args.log_format)
    from .store import connect, migrate

    db = connect(args.db)
    migrate(db)
    db.close()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())

    sink = None
    if args.influx_url:
        from .influx import SINK, InfluxConfig, InfluxSink

        try:
            cfg = InfluxConfig(url=args.influx_url, org=args.influx_org,
                               bucket=args.influx_bucket,
                               token=args.influx_token
                               or os.environ.get("MACHIMORI_INFLUX_TOKEN", ""))
        except ValueError as exc:
            log.error("%s", exc)
            return 2
        sink = InfluxSink(args.db, cfg).start()
    worker = None
    if not args.no_ingest:
        from machimori.mqtt_link import LinkError

        from .ingest import IngestWorker

        try:
            worker = IngestWorker(args.db, args.mqtt, client_id=args.client_id,
                                  username=args.mqtt_username,
                                  password=os.environ.get("MACHIMORI_MQTT_PASSWORD"),
                                  shared_group=args.shared_group,
                                  mqtt_version=args.mqtt_version,
                                  sinks=(SINK,) if sink else (), ca_file=args.mqtt_ca,
                                  cert_file=args.mqtt_cert, key_file=args.mqtt_key)
        except LinkError as exc:
            log.error("--mqtt: %s", exc)
            if sink is not None:
                sink.stop()
            return 2
        worker.start()
    watch = None
    if not args.no_ingest and not args.no_watch:
        from .watch.config import from_args
        from .watch.crypto import WatchKeyError
        from .watch.worker import WatchWorker

        try:
            watch = WatchWorker(args.db, from_args(args)).start()
        except (ValueError, WatchKeyError) as exc:
            log.error("%s", exc)
            return 2
    actuators = None
    if not args.no_ingest and not args.no_actuators:
        from .actuator_worker import ActuatorWorker

        actuators = ActuatorWorker(args.db, args.mqtt, client_id=args.client_id + "-act",
                                   username=args.mqtt_username,
                                   password=os.environ.get("MACHIMORI_MQTT_PASSWORD")).start()
    server = None
    if not args.no_web:
        from waitress.server import create_server

        from .app import create_app

        app = create_app({"DATABASE": args.db, "BASEMAP": args.basemap,
                          "INGEST_STATS": worker.stats if worker is not None else None,
                          "WATCH_PUBLIC_URL": args.public_url.rstrip("/"),
                          "WATCH_KEY_FILE": args.watch_key_file,
                          "WATCH_SMS_TOKEN": os.environ.get("MACHIMORI_SMS_TOKEN", "")})
        server = create_server(app, host=args.host, port=args.port, threads=4)
        threading.Thread(target=server.run, name="web", daemon=True).start()
        log.info("web server on http://%s:%s/", args.host, server.effective_port)
    threading.Thread(target=_phone_silence_loop, args=(args.db, args.phone_silence_hours, stop),
                     name="phone-silence", daemon=True).start()
    if args.retention_days:
        threading.Thread(target=_retention_loop, args=(args.db, args.retention_days, stop),
                         name="retention", daemon=True).start()
    stop.wait()
    log.info("stopping")
    if worker is not None:
        worker.stop()
    if watch is not None:
        watch.stop()
    if actuators is not None:
        actuators.stop()
    if sink is not None:
        sink.stop()
    if server is not None:
        server.close()
    return 0


def _retention_loop(db_url: str, keep_days: float, stop: threading.Event) -> None:
    import time

    from .retention import downsample, expire_by_sensitivity
    from .store import connect

    while not stop.is_set():
        db = connect(db_url)
        try:
            expire_by_sensitivity(db, time.time())
            res = downsample(db, time.time() - keep_days * 86400)
            if res.summaries_removed:
                log.info("retention: %d windows folded into %d hourly rows",
                         res.summaries_removed, res.hours_written)
        except Exception:
            log.exception("retention failed; retrying in an hour")
        finally:
            db.close()
        stop.wait(3600)


def _phone_silence_loop(db_url: str, hours: float, stop: threading.Event) -> None:
    """Once a minute: phones linked to a person that stopped reporting (docs/owntracks.md)."""
    import time

    from .phones import check_silence
    from .store import connect

    db = None
    first = True
    while not stop.wait(1.0 if first else 60.0):
        first = False
        try:
            db = db or connect(db_url)
            for dev in check_silence(db, time.time(), hours * 3600):
                log.warning("phone silent: %s", dev)
        except Exception:
            log.exception("phone silence check failed; retrying")
            if db is not None:
                db.close()
            db = None
