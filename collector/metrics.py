"""Prometheus metrics at /metrics (text exposition format 0.0.4). Admin role or an admin token.

Counters of this process's ingest worker (when it runs in this process) plus gauges read from
the database, so any web worker can answer.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, current_app

from .app import get_db
from .auth import require

bp = Blueprint("metrics", __name__)


def _esc(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class _Out:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def metric(self, name: str, kind: str, help_: str,
               samples: list[tuple[dict[str, str], float]]) -> None:
        self.lines += [f"# HELP {name} {help_}", f"# TYPE {name} {kind}"]
        for labels, value in samples:
            lab = ",".join(f'{k}="{_esc(v)}"' for k, v in labels.items())
            self.lines.append(f"{name}{{{lab}}} {value}" if lab else f"{name} {value}")


@bp.get("/metrics")
@require("admin")
def metrics() -> Any:
    out = _Out()
    db = get_db()
    stats = current_app.config.get("INGEST_STATS")
    if stats is not None:
        out.metric("machimori_ingest_messages_total", "counter",
                   "Messages taken from the broker by this process, by outcome.",
                   [({"result": "stored"}, stats.stored), ({"result": "duplicate"}, stats.duplicates),
                    ({"result": "dead_letter"}, stats.dead)])
        out.metric("machimori_ingest_id_conflicts_total", "counter",
                   "Of the dead letters: a known id that arrived with a different payload.",
                   [({}, stats.conflicts)])
        out.metric("machimori_ingest_batches_total", "counter", "Committed ingest batches.",
                   [({}, stats.batches)])
        out.metric("machimori_ingest_queue_depth", "gauge",
                   "Messages received but not yet committed (back-pressure above 10000).",
                   [({}, stats.queue_depth())])
        out.metric("machimori_ingest_last_commit_age_seconds", "gauge",
                   "Seconds since this process last committed a batch.",
                   [({}, round(time.time() - stats.last_commit, 3) if stats.last_commit else -1)])
        out.metric("machimori_ingest_connected", "gauge", "1 when connected to the broker.",
                   [({}, int(stats.connected))])
    # From the small devices table (newest state per device), not a scan of every summary.
    lag = db.execute("SELECT updated_at - latest_end FROM devices ORDER BY updated_at DESC "
                     "LIMIT 1").fetchone()
    out.metric("machimori_ingest_lag_seconds", "gauge",
               "Newest stored summary: received time minus window end (gateway clocks).",
               [({}, round(lag[0], 3))] if lag else [])
    out.metric("machimori_dead_letters", "gauge", "Payloads kept in the dead-letter table.",
               [({}, db.execute("SELECT count(*) FROM dead_letters").fetchone()[0])])
    rows = db.execute("SELECT kind, count(*) FROM summaries GROUP BY kind ORDER BY kind").fetchall()
    out.metric("machimori_summaries", "gauge", "Stored summaries by kind.",
               [({"kind": r[0]}, r[1]) for r in rows])
    gws = db.execute("SELECT id, state, outbox_depth, outbox_bytes, outbox_cap_bytes, "
                     "outbox_oldest_s, outbox_evicted_summaries, outbox_evicted_events, "
                     "disk_free_bytes FROM gateways ORDER BY id").fetchall()
    out.metric("machimori_gateway_online", "gauge", "1 when the gateway's status is online.",
               [({"gw": r[0]}, int(r[1] == "online")) for r in gws])
    out.metric("machimori_gateway_outbox_depth", "gauge",
               "Messages waiting in the gateway's outbox, as its last status reported.",
               [({"gw": r[0]}, r[2]) for r in gws if r[2] is not None])
    out.metric("machimori_gateway_outbox_bytes", "gauge",
               "Payload bytes in the gateway's outbox, as its last status reported.",
               [({"gw": r[0]}, r[3]) for r in gws if r[3] is not None])
    out.metric("machimori_gateway_outbox_cap_bytes", "gauge",
               "The gateway's outbox bound (outbox.max_mb): past it summaries, then events, "
               "are evicted; SOS and falls never.",
               [({"gw": r[0]}, r[4]) for r in gws if r[4] is not None])
    out.metric("machimori_gateway_outbox_oldest_seconds", "gauge",
               "Age of the oldest message waiting in the gateway's outbox.",
               [({"gw": r[0]}, r[5]) for r in gws if r[5] is not None])
    out.metric("machimori_gateway_outbox_evicted_total", "counter",
               "Messages the gateway's outbox bound evicted unsent, by message class.",
               [({"gw": r[0], "message": m}, v) for r in gws
                for m, v in (("summary", r[6]), ("event", r[7])) if v is not None])
    out.metric("machimori_gateway_disk_free_bytes", "gauge",
               "Free space on the filesystem of the gateway's data dir.",
               [({"gw": r[0]}, r[8]) for r in gws if r[8] is not None])
    sinks = db.execute("SELECT sink, count(*) FROM sink_queue GROUP BY sink").fetchall()
    out.metric("machimori_sink_queue_depth", "gauge", "Summaries waiting for an external sink.",
               [({"sink": r[0]}, r[1]) for r in sinks])
    body = "\n".join(out.lines) + "\n"
    return current_app.response_class(body, mimetype="text/plain; version=0.0.4")
