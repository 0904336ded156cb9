"""Collector ingest against the broker alone: messages/s and readings/s stored.

    .venv/bin/python bench/ingest.py [--messages 50000] [--db PATH|postgresql://...]

One real Mosquitto, one publisher process (paho, QoS 1) sending heat summaries as fast as the
broker takes them. Twice, in the same run and on the same broker:
  1. a bare paho subscriber (QoS 1, automatic PUBACK, does nothing with the message);
  2. `machimori collector run` (validation, one transaction per batch, PUBACK after commit).
Each rate is messages / (last one received or stored - first one published). Readings are the
summaries' `n` (6 per 1-minute window at a 10 s sampling period).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from machimori.contract.mqtt import message_body
from machimori.procs import wait_for
from tests.harness import Collector, Mosquitto

READINGS_PER_SUMMARY = 6
# The collector may have this many unacknowledged messages from the broker (operations.md: 100).
BROKER_CONF = "max_inflight_messages 1000\n"


def payload(gw: str, seq: int, t0: float) -> tuple[str, bytes]:
    v = 25 + (seq % 100) / 10
    stat = {"mean": v, "min": v - 0.3, "max": v + 0.3, "last": v}
    end = t0 + 60 * seq
    body = message_body("summary", gw, "00000000000000b1", seq, {
        "kind": "heat", "device": f"heat-{seq % 50:03d}", "start": end - 60, "end": end,
        "n": READINGS_PER_SUMMARY,
        "values": {"air_c": stat, "humidity": stat, "illuminance": stat, "wbgt_c": stat},
        "place": {"lat": 36.14, "lon": 139.38}, "wbgt_level": 2})
    return f"machimori/v1/gw/{gw}/summary/heat", json.dumps(body, separators=(",", ":")).encode()


def publish(port: int, gw: str, n: int) -> None:
    """The publisher process: n summaries, QoS 1, up to 1,000 in flight."""
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{gw}-pub")
    c.max_inflight_messages_set(1000)
    c.max_queued_messages_set(0)
    # At most 10,000 outstanding: paho's message ids are 16 bits and must not be reused while
    # a message is still waiting for its PUBACK.
    window = threading.Semaphore(10_000)
    c.on_publish = lambda *_: window.release()
    c.connect("127.0.0.1", port)
    c.loop_start()
    t0 = 1_700_000_000.0
    infos = []
    for s in range(1, n + 1):
        window.acquire()
        infos.append(c.publish(*payload(gw, s, t0), qos=1))
    for info in infos:
        info.wait_for_publish(120)
    c.loop_stop()
    c.disconnect()


def start_publisher(port: int, gw: str, n: int) -> tuple[subprocess.Popen, float]:
    t = time.time()
    p = subprocess.Popen([sys.executable, __file__, "--publish", str(port), gw, str(n)])
    return p, t


def subscribe(port: int, topic: str, n: int, connect_only: bool) -> None:
    """The bare subscriber process: persistent session, QoS 1, automatic PUBACK, no work.

    With connect_only it subscribes and leaves (the broker then queues for the session);
    otherwise it prints the wall-clock times of the first and the n-th message as JSON.
    """
    times: list[float] = []  # first, n-th
    got = 0
    done = threading.Event()
    subscribed = threading.Event()

    def on_message(client, userdata, msg) -> None:
        nonlocal got
        got += 1
        if got == 1 or got == n:
            times.append(time.time())
        if got == n:
            done.set()

    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-bare", clean_session=False)
    sub.on_message = on_message
    sub.on_subscribe = lambda *a: subscribed.set()
    sub.connect("127.0.0.1", port)
    sub.loop_start()
    sub.subscribe(topic, qos=1)
    subscribed.wait(10)
    print("subscribed", flush=True)
    if not connect_only:
        done.wait(600)
    sub.disconnect()
    sub.loop_stop()
    print(json.dumps({"first": times[0] if times else None, "last": times[-1] if times else None,
                      "got": got}), flush=True)


def bare(broker: Mosquitto, n: int, backlog: bool) -> float:
    gw = f"bare-{random.randrange(16**6):06x}"
    topic = f"machimori/v1/gw/{gw}/#"
    cmd = [sys.executable, __file__, "--subscribe", str(broker.port), topic, str(n)]
    if backlog:
        subprocess.run([*cmd, "1"], check=True, capture_output=True, timeout=60)
        pub, t0 = start_publisher(broker.port, gw, n)
        pub.wait(600)
        out = subprocess.run([*cmd, "0"], check=True, capture_output=True, text=True,
                             timeout=600).stdout
        t = json.loads(out.splitlines()[-1])
        return n / (t["last"] - t["first"])
    sub = subprocess.Popen([*cmd, "0"], stdout=subprocess.PIPE, text=True)
    assert sub.stdout is not None and sub.stdout.readline().strip() == "subscribed"
    pub, t0 = start_publisher(broker.port, gw, n)
    t = json.loads(sub.stdout.read().splitlines()[-1])
    sub.wait(60)
    pub.wait(60)
    return n / (t["last"] - t0)


def collector(broker: Mosquitto, n: int, db: str | None, tmp: Path, backlog: bool) -> float:
    from collector.store import connect

    gw = f"col-{random.randrange(16**6):06x}"
    col = Collector(tmp / "col", broker.url, client_id="bench-collector", db=db).start()

    def stored() -> int:
        con = connect(col.db, readonly=True)
        try:
            return con.execute("SELECT count(*) FROM summaries WHERE gw = ?",
                               (gw,)).fetchone()[0]
        finally:
            con.close()

    try:
        if backlog:
            col.stop()  # its persistent session stays: the broker queues for it
            pub, _ = start_publisher(broker.port, gw, n)
            pub.wait(600)
            col.start()
            wait_for(lambda: stored() > 0, 60, "the first stored summary", every=0.01)
            t0 = time.time()
        else:
            pub, t0 = start_publisher(broker.port, gw, n)
        wait_for(lambda: stored() >= n, 600, f"{n} summaries stored", every=0.02)
        t_last = time.time()
        pub.wait(60)
        assert stored() == n
    finally:
        col.stop()
    return n / (t_last - t0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=50_000)
    ap.add_argument("--db", default=None,
                    help="the collector's database: a file path (default: a temporary SQLite "
                         "file) or postgresql://...")
    ap.add_argument("--publish", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--subscribe", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.publish:
        publish(int(args.publish[0]), args.publish[1], int(args.publish[2]))
        return 0
    if args.subscribe:
        port, topic, n, only = args.subscribe
        subscribe(int(port), topic, int(n), only == "1")
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as d:
        tmp = Path(d)
        broker = Mosquitto(tmp / "mosq", extra_conf=BROKER_CONF).start()
        try:
            rates = {(mode, who): fn(mode == "backlog")
                     for mode in ("live", "backlog")
                     for who, fn in (("bare", lambda bl: bare(broker, args.messages, bl)),
                                     ("collector", lambda bl: collector(
                                         broker, args.messages, args.db, tmp, bl)))}
        finally:
            broker.stop()
    db_kind = "PostgreSQL" if (args.db or "").startswith("postgres") else "SQLite"
    print(f"{args.messages} heat summaries per run, {os.cpu_count()} cores, Mosquitto, QoS 1, "
          f"collector on {db_kind}")
    print("| mode | bare subscriber msg/s | collector msg/s | collector readings/s | ratio |")
    print("|---|---:|---:|---:|---:|")
    for mode in ("live", "backlog"):
        b, c = rates[(mode, "bare")], rates[(mode, "collector")]
        print(f"| {mode} | {b:,.0f} | {c:,.0f} | {c * READINGS_PER_SUMMARY:,.0f} | {c / b:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
