"""`machimori demo`: a whole simulated town on this machine — broker, collector, gateways.

Embedded defaults: an amqtt broker in its own process (unless --mqtt names one) and SQLite in
the data directory. Prints the URL, reports progress, and stops every process it started.
"""

from __future__ import annotations

import argparse
import signal
import sqlite3
import time
import urllib.request
from pathlib import Path

DEFAULT_START = "2026-08-03T04:40"
# Wall seconds the gateways take to start: the simulated clock reaches --start this long after
# they are launched, so the first simulated minutes (and their incidents) are not lost.
GATEWAY_START_S = 10.0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run a simulated town end to end on this machine",
                       description="Start a broker (amqtt, unless --mqtt), the collector and a "
                                   "simulated town's gateways; open the printed URL.")
    p.add_argument("--seconds", type=float, default=None,
                   help="stop after this many seconds (default: run until Ctrl-C)")
    p.add_argument("--port", type=int, default=8080, help="web port (default 8080)")
    p.add_argument("--data-dir", default="data/demo", help="where data is kept (default data/demo)")
    p.add_argument("--mqtt", default=None, help="use this broker (mqtt://host:port) instead of "
                                                "starting the embedded one")
    p.add_argument("--speed", type=float, default=30.0,
                   help="simulated seconds per real second (default 30: a summary every 2 s)")
    p.add_argument("--start", default=DEFAULT_START,
                   help="local (JST) date and time the simulated clock starts, "
                        f"YYYY-MM-DDTHH:MM (default {DEFAULT_START}: before dawn, so a night "
                        "wandering, an SOS, a fall and a household with no morning show in "
                        "the first five minutes; a hot afternoon follows)")
    p.add_argument("--seed", type=int, default=1, help="town seed (default 1)")
    p.add_argument("--gateways", type=int, default=3, help="gateways in the town (default 3)")
    p.add_argument("--nodes", type=int, default=30, help="heat nodes (default 30)")
    p.add_argument("--residents", type=int, default=20, help="residents with tags (default 20)")
    p.add_argument("--households", type=int, default=20,
                   help="households with meters (default 20)")
    p.add_argument("--sms-url", default=None,
                   help="send the watch's SMS to this Twilio-compatible API (account SID from "
                        "MACHIMORI_SMS_SID, token from MACHIMORI_SMS_TOKEN) instead of the "
                        "demo's local recorder (data-dir/sms.jsonl)")
    p.set_defaults(func=_cmd_demo)


def _count(db: Path) -> tuple[int, int, int]:
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            s = con.execute("SELECT count(*) FROM summaries").fetchone()[0]
            e = con.execute("SELECT count(*) FROM events").fetchone()[0]
            d = con.execute("SELECT count(*) FROM devices WHERE kind='heat'").fetchone()[0]
        finally:
            con.close()
        return s, e, d
    except sqlite3.Error:
        return 0, 0, 0


def _demo_admin(db: Path, data: Path) -> str:
    """The demo's admin account: made once with a random password kept in the data dir."""
    import secrets

    from collector.store import connect, migrate
    from collector.users import UserError, add_user

    from .files import write_private

    path = data / "admin-password.txt"
    if path.exists():
        return path.read_text().strip()
    password = secrets.token_urlsafe(12)
    con = connect(db)
    try:
        migrate(con)
        add_user(con, "admin", password, "admin")
    except UserError:
        return "(set in an earlier run; `machimori collector user add` makes another admin)"
    finally:
        con.close()
    write_private(path, password + "\n")
    return password


def _cmd_demo(args: argparse.Namespace) -> int:
    from sim import truth
    from sim.commands import write_town
    from sim.town import sim_epoch

    from .procs import free_port, port_open, spawn, stop, wait_for

    try:
        start = sim_epoch(args.start)
    except ValueError:
        print(f"--start {args.start!r}: expected YYYY-MM-DDTHH:MM (local time)")
        return 2
    data = Path(args.data_dir).resolve()
    data.mkdir(parents=True, exist_ok=True)
    logs = data / "logs"
    procs = []
    sink = None

    def on_term(*_: object) -> None:
        raise KeyboardInterrupt  # leave whatever we are waiting on; `finally` stops everyone

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)  # Ctrl-C, even where a shell started us ignoring it
    try:
        if args.mqtt:
            mqtt_url = args.mqtt
        else:
            bport = free_port()
            mqtt_url = f"mqtt://127.0.0.1:{bport}"
            print(f"[1/4] starting the embedded MQTT broker (amqtt) on {mqtt_url}", flush=True)
            procs.append(("broker", spawn(["-m", "machimori.broker", "--port", str(bport)],
                                          logs / "broker.log")))
            wait_for(lambda: port_open(bport), 30, "the broker to listen")
        town_dir = data / "town"
        town, configs = write_town(town_dir, mqtt_url, seed=args.seed, speed=args.speed,
                                   sim_start=start, wall_anchor=time.time(),
                                   gateways=args.gateways, nodes=args.nodes,
                                   residents=args.residents, households=args.households)
        # Ground truth: every injected anomaly, for `machimori sim score`.
        truth.write(data / "truth.jsonl", truth.rows_for(town, start))
        db = data / "collector.sqlite"
        import os

        from .demo_watch import setup as setup_watch

        watch_accounts = setup_watch(db, data, town, args.speed)
        if args.sms_url:
            sms_url, sms_env = args.sms_url, {}
        else:
            from .sms_sink import SmsSink

            sink = SmsSink(data / "sms.jsonl", echo=lambda line: print(line, flush=True)).start()
            sms_url, sms_env = sink.url, {"MACHIMORI_SMS_TOKEN": "demo"}
        from .heat_cli import prepare_demo

        heat_env = prepare_demo(town_dir, town, str(db))  # buildings, cool spots
        print(f"[2/4] starting the collector (database {db})", flush=True)
        procs.append(("collector", spawn(
            ["-m", "machimori.cli", "collector", "run", "--db", str(db), "--mqtt", mqtt_url,
             "--port", str(args.port), "--basemap", str(town_dir / "basemap.geojson"),
             "--client-id", "machimori-demo-collector", "--sms-url", sms_url,
             "--sms-sid", os.environ.get("MACHIMORI_SMS_SID", "ACdemo"),
             "--sms-from", "+815000000000", "--quiet-hours", "none",
             "--public-url", f"http://127.0.0.1:{args.port}"], logs / "collector.log",
            env={**heat_env, **sms_env})))
        url = f"http://127.0.0.1:{args.port}/"

        def healthy() -> bool:
            try:
                with urllib.request.urlopen(url + "api/v1/health", timeout=1) as r:
                    return r.status == 200
            except OSError:
                return False
        wait_for(healthy, 60, "the collector's web server")
        admin_pw = _demo_admin(db, data)
        from .demo_prelearn import write_learnt

        print("      the gateways' household watch: replaying two weeks of the town's life "
              "(they start past learning)", flush=True)
        write_learnt(configs, town, start)
        town, configs = write_town(town_dir, mqtt_url, seed=args.seed, speed=args.speed,
                                   sim_start=start, wall_anchor=time.time() + GATEWAY_START_S,
                                   gateways=args.gateways, nodes=args.nodes,
                                   residents=args.residents, households=args.households)
        print(f"[3/4] starting {len(configs)} gateways ({args.nodes} heat nodes, "
              f"{args.residents} tags, {args.households} households; "
              f"simulated time ×{args.speed:g})", flush=True)
        for cfg in configs:
            procs.append((cfg.stem, spawn(["-m", "machimori.cli", "gw", "run", "--config",
                                           str(cfg)], logs / f"{cfg.stem}.log")))
        print(f"[4/4] running. Open {url}  (English: {url}heat?lang=en)", flush=True)
        print(f"      admin pages: {url}admin/  user 'admin', password '{admin_pw}' "
              f"(kept in {data / 'admin-password.txt'})", flush=True)
        print(f"      responders' app: {url}watch/  "
              + ", ".join(f"user '{u}' password '{pw}'" for u, pw in watch_accounts.items())
              + f" (kept in {data / 'watch-accounts.txt'}); SMS "
              + (f"to {args.sms_url}" if args.sms_url else f"recorded in {data / 'sms.jsonl'}"),
              flush=True)
        print(f"      ground truth in {data / 'truth.jsonl'}: score it with `machimori sim score "
              f"--truth {data / 'truth.jsonl'} --db {db}`", flush=True)
        print("      Ctrl-C stops everything." if args.seconds is None else
              f"      stopping after {args.seconds:g} s.", flush=True)
        t0 = time.monotonic()
        last_report, last_count = t0, 0
        while True:
            if args.seconds is not None and time.monotonic() - t0 >= args.seconds:
                break
            for name, p in procs:
                if p.poll() is not None:
                    print(f"{name} exited with {p.returncode}; see {logs / (name + '.log')}")
                    return 1
            time.sleep(0.2)
            now = time.monotonic()
            if now - last_report >= 5:
                s, e, d = _count(db)
                rate = (s - last_count) / (now - last_report)
                print(f"  {now - t0:5.0f} s: {d} sensors on the map, {s} summaries and {e} "
                      f"events stored ({rate:.0f} summaries/s)", flush=True)
                last_report, last_count = now, s
    except KeyboardInterrupt:
        pass
    except TimeoutError as exc:
        print(f"demo failed to start: {exc}; logs are in {logs}")
        return 1
    finally:
        # Cleanup must finish: further signals are ignored until every child is stopped.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        # Gateways first (they say goodbye), then the collector (it commits), then the broker.
        for name, p in reversed(procs):
            stop(p)
        if sink is not None:
            sink.stop()
        print(f"stopped {len(procs)} processes; data kept in {data}", flush=True)
    return 0
