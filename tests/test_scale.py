"""Two collectors split 100,000 events on one MQTT 5 shared subscription of a real Mosquitto, one
of them SIGKILLed mid-run and restarted: the union of what they stored holds each id once.

Each collector has its own SQLite file. That makes the invariant a real check rather than a
consequence of one table's primary key: a message the killed collector had stored but not
acknowledged must come back to *it* (its persistent session), not to the other one, or the union
would hold it twice. It also shows that both collectors took a share. (In production several
collectors share one PostgreSQL database, where the unique id absorbs even that case.)
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from machimori.procs import wait_for

from .harness import Collector, Mosquitto

N = 100_000
GATEWAYS = ("scale-a", "scale-b", "scale-c", "scale-d")
# The collectors may each have 1,000 unacknowledged messages (their batches), and the queue of
# the one that is down must hold everything published meanwhile.
BROKER_CONF = "max_inflight_messages 100\n"


def events() -> list[tuple[str, bytes, str]]:
    out = []
    per = N // len(GATEWAYS)
    for seq in range(1, per + 1):
        for gw in GATEWAYS:
            body = {"schema": "machimori/event/1", "id": f"{gw}:{seq}", "gw": gw, "seq": seq,
                    "kind": "wbgt_level", "device": f"heat-{seq % 40:03d}",
                    "ts": 1_785_715_200.0 + seq, "priority": 1, "data": {"level": seq % 5}}
            out.append((f"machimori/v1/gw/{gw}/event/wbgt_level",
                        json.dumps(body, separators=(",", ":")).encode(), body["id"]))
    return out


def count(col: Collector) -> int:
    return col.query("SELECT count(*) FROM events")[0][0]


def subscribed(col: Collector) -> bool:
    log = col.dir / "collector.log"
    return log.exists() and "ingest connected" in log.read_text(errors="replace")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_two_collectors_split_100k_events_with_a_sigkill(tmp_path: Path) -> None:
    t_start = time.monotonic()
    broker = Mosquitto(tmp_path / "mosquitto", extra_conf=BROKER_CONF).start()
    opts = ("--mqtt-version", "5", "--shared-group", "scale")
    cols = [Collector(tmp_path / name, broker.url, client_id=f"collector-{name}",
                      db=str(tmp_path / name / "collector.sqlite"), extra_args=opts)
            for name in ("a", "b")]
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="scale-publisher")
    pub.max_inflight_messages_set(1000)
    try:
        for c in cols:
            c.start()
        wait_for(lambda: all(subscribed(c) for c in cols), 30, "both collectors to subscribe")
        msgs = events()
        pub.connect("127.0.0.1", broker.port)
        pub.loop_start()
        acked = 0
        window = threading.Semaphore(10_000)

        def on_publish(*_: object) -> None:
            nonlocal acked
            acked += 1  # paho's network thread only
            window.release()

        pub.on_publish = on_publish

        def publish_all() -> None:
            # A bounded window: paho's message ids are 16 bits, so more than 65,535 messages
            # outstanding at once would reuse ids and the PUBACKs would match the wrong ones.
            for topic, payload, _ in msgs:
                window.acquire()
                pub.publish(topic, payload, qos=1)

        sender = threading.Thread(target=publish_all, daemon=True)
        sender.start()
        total = lambda: sum(count(c) for c in cols)
        wait_for(lambda: total() >= N * 0.3, 120, "30 % stored before the kill", every=0.1)
        cols[0].kill()  # SIGKILL: batches in flight were neither committed nor acknowledged
        at_kill, b_at_kill = count(cols[0]), count(cols[1])
        # While a is dead, b goes on (and the broker keeps a's share in a's session).
        wait_for(lambda: count(cols[1]) >= b_at_kill + 5_000 or acked >= N, 120,
                 "b to go on while a is down", every=0.1)
        cols[0].start()
        sender.join(300)
        wait_for(lambda: acked >= N, 300, "the broker to acknowledge every publish")
        wait_for(lambda: total() >= N, 300, "every event to be stored", every=0.2)

        a, b = ([r[0] for r in c.query("SELECT id FROM events")] for c in cols)
        union = a + b
        assert len(union) == N, f"{len(union) - N} extra rows: duplicates across collectors"
        assert set(union) == {m[2] for m in msgs}  # nothing lost
        assert len(a) > at_kill > 0 and len(b) > 0  # both took a share; a went on after restart
        elapsed = time.monotonic() - t_start
        print(f"\nscale: a stored {len(a)}, b stored {len(b)}; {elapsed:.0f} s")
    finally:
        pub.loop_stop()
        for c in cols:
            c.stop()
        broker.stop()
