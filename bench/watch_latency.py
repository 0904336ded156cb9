"""Watch latency: an SOS published to the broker → the SMS request received by the provider.

    .venv/bin/python bench/watch_latency.py [--events 40]

One real Mosquitto, `machimori collector run` with the SMS channel pointed at a local
Twilio-compatible recorder, N persons each with a family responder. One SOS at a time (each a
new person, so each opens an alert and sends one SMS); for each: publish time → the moment the
event row is stored (ingest, the peer in the same run) and → the moment the recorder received
the SMS request. Target (DESIGN.md): p95 ≤ 5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from collector.store import connect, migrate
from collector.watch import crypto
from collector.watch.people import add_person, add_responder, assign, link_device
from machimori.procs import wait_for
from tests.harness import Collector, Mosquitto
from tests.recorders import HTTPRecorder


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=40, help="SOS events, one at a time")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="watch-bench-"))
    db = str(tmp / "collector.sqlite")
    con = connect(db)
    migrate(con)
    keys = crypto.load(None, db)
    for i in range(args.events):
        add_person(con, keys, f"person-{i:03d}", f"住民 {i}", 0.0)
        link_device(con, f"tag-{i:03d}", "tag", 0.0, person=f"person-{i:03d}")
        rid = add_responder(con, keys, f"家族 {i}", 1, "family", 0.0,
                            phone_number=f"+8190{i:08d}")
        assign(con, f"person-{i:03d}", rid)
    con.close()
    sms = HTTPRecorder().start()
    broker = Mosquitto(tmp / "mosquitto").start()
    os.environ["MACHIMORI_SMS_TOKEN"] = "bench-token"
    col = Collector(tmp, broker.url, db=db, extra_args=(
        "--sms-url", sms.url, "--sms-sid", "ACbench", "--sms-from", "+815000000000")).start()
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-pub")
    pub.connect("127.0.0.1", broker.port)
    pub.loop_start()
    stored: list[float] = []
    sent: list[float] = []
    try:
        for i in range(args.events):
            body = {"schema": "machimori/event/1", "id": f"gw-01:{i + 1}", "gw": "gw-01",
                    "seq": i + 1, "kind": "sos", "device": f"tag-{i:03d}", "ts": time.time(),
                    "priority": 3, "data": {"event_counter": i + 1}}
            t0 = time.time()
            pub.publish("machimori/v1/gw/gw-01/event/sos", json.dumps(body), qos=1)
            got: dict[str, float] = {}

            def done(i: int = i, got: dict[str, float] = got) -> bool:
                if "stored" not in got and col.query(
                        "SELECT 1 FROM events WHERE id = ?", (f"gw-01:{i + 1}",)):
                    got["stored"] = time.time()
                return len(sms.ok()) == i + 1
            wait_for(done, 30, f"SMS {i + 1}", every=0.005)
            sent.append(sms.ok()[-1].at - t0)
            stored.append(got.get("stored", time.time()) - t0)
            print(f"\r{i + 1}/{args.events}", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
    finally:
        pub.loop_stop()
        col.stop()
        broker.stop()
        sms.stop()
    print(f"events: {args.events} (one SOS at a time, a new person each)")
    print(f"publish → event stored (ingest):  p50 {statistics.median(stored) * 1000:.0f} ms, "
          f"p95 {pct(stored, 0.95) * 1000:.0f} ms")
    print(f"publish → SMS request received:   p50 {statistics.median(sent) * 1000:.0f} ms, "
          f"p95 {pct(sent, 0.95) * 1000:.0f} ms (target p95 ≤ 5000 ms)")
    print(f"SMS p50 / ingest p50: {statistics.median(sent) / statistics.median(stored):.1f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
