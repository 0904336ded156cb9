"""The InfluxDB sink: drains the store's sink queue into any server with the v2 write API.

A summary enters the queue in the same transaction that stores it (collector/store.py) and
leaves it only when the server has accepted the batch holding its point, so a sink that is down
for hours, or a collector killed mid-write, loses nothing: what was not accepted is sent again.
Redelivery is harmless: a point is keyed by measurement, tags and time, so the server
overwrites the same point (InfluxDB; VictoriaMetrics with -dedup.minScrapeInterval).
docs/influx.md documents the mapping.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any

from .store import Store

log = logging.getLogger("machimori.collector.influx")

SINK = "influx"  # the name under which the store queues summaries for this sink


def point_line(summary: dict[str, Any]) -> str:
    """One summary -> one line of line protocol (millisecond time). Pure, see docs/influx.md.

    measurement = kind; tags gw, device; fields <quantity>_<stat>, n and wbgt_level; time =
    the window's end. The level is a field, not a tag: as a tag each change of level would start
    a new series for the device.
    """
    from influxdb_client import Point, WritePrecision

    p = Point(summary["kind"]).tag("gw", summary["gw"]).tag("device", summary["device"])
    for quantity in sorted(summary["values"]):
        stats = summary["values"][quantity]
        for stat in ("mean", "min", "max", "last"):
            # float() keeps the field's type stable: an integral mean must not become an int
            # field, which InfluxDB would then reject for the rest of the shard.
            p.field(f"{quantity}_{stat}", float(stats[stat]))
    p.field("n", int(summary["n"]))
    if summary.get("wbgt_level") is not None:
        p.field("wbgt_level", int(summary["wbgt_level"]))
    p.time(round(float(summary["end"]) * 1000), WritePrecision.MS)
    return p.to_line_protocol()


@dataclass(frozen=True)
class InfluxConfig:
    url: str
    bucket: str
    org: str = "machimori"
    token: str = ""
    batch_size: int = 500  # points per HTTP write
    flush_interval_ms: int = 200  # a partial batch waits at most this long
    max_in_flight: int = 2_000  # points handed to the client and not yet answered
    retry_interval_ms: int = 1_000  # the client's own retries of one batch...
    max_retries: int = 3
    max_retry_time_ms: int = 15_000
    backoff_max_s: float = 15.0  # ...then this worker backs off before sending again
    timeout_ms: int = 10_000

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"--influx-url {self.url!r}: expected http://HOST:PORT")
        if not self.bucket:
            raise ValueError("--influx-bucket is required with --influx-url")
        if self.batch_size < 1 or self.max_in_flight < self.batch_size:
            raise ValueError("influx batch_size must be >= 1 and <= max_in_flight")


@dataclass
class InfluxStats:
    written: int = 0  # points the server accepted
    failed_batches: int = 0  # batches given up by the client after its retries


class InfluxSink:
    """A thread that moves queued summaries to the server through the batching write API."""

    def __init__(self, db_path: str, config: InfluxConfig, poll_s: float = 0.2):
        self.db_path = db_path
        self.config = config
        self.poll_s = poll_s
        self.stats = InfluxStats()
        # Callbacks run on the client's threads; they only post here, the worker thread alone
        # touches SQLite and its bookkeeping.
        self._results: queue.Queue[tuple[bool, bytes]] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- callbacks of influxdb-client's batching WriteApi (its threads)
    def _on_success(self, conf: tuple[str, str, str], data: bytes | str) -> None:
        self._results.put((True, data if isinstance(data, bytes) else data.encode()))

    def _on_error(self, conf: tuple[str, str, str], data: bytes | str, exc: Exception) -> None:
        log.warning("influx write failed after the client's retries: %s", _brief(exc))
        self._results.put((False, data if isinstance(data, bytes) else data.encode()))

    def _on_retry(self, conf: tuple[str, str, str], data: bytes | str, exc: Exception) -> None:
        log.info("influx write will be retried: %s", _brief(exc))

    # ---- lifecycle
    def start(self) -> InfluxSink:
        self._thread = threading.Thread(target=self._run, name="influx-sink", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop sending; what the server has not accepted yet stays queued for the next start."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        from influxdb_client import InfluxDBClient, WriteOptions, WritePrecision
        from reactivex.scheduler import ThreadPoolScheduler

        c = self.config
        options = WriteOptions(
            batch_size=c.batch_size, flush_interval=c.flush_interval_ms,
            retry_interval=c.retry_interval_ms, max_retries=c.max_retries,
            max_retry_delay=c.backoff_max_s * 1000, max_retry_time=c.max_retry_time_ms,
            exponential_base=2, max_close_wait=2_000,
            # Our own scheduler: the default one is created once, at import, and shared by
            # every WriteApi in the process.
            write_scheduler=ThreadPoolScheduler(max_workers=1))
        store = Store(self.db_path, sinks=(SINK,))
        client = InfluxDBClient(url=c.url, token=c.token, org=c.org, timeout=c.timeout_ms)
        api = client.write_api(write_options=options, success_callback=self._on_success,
                               error_callback=self._on_error, retry_callback=self._on_retry)
        # line -> queue ids waiting for it (identical lines are possible: same device and window
        # under two sequence numbers); both keyed by the exact bytes the callbacks hand back.
        waiting: dict[bytes, deque[int]] = defaultdict(deque)
        in_flight: set[int] = set()
        backoff = 0.0
        resume_at = 0.0
        # Highest queue id handed to the client. Read from the start again after a failure,
        # and once a minute in case a lower id committed late (another writer's transaction).
        handed = 0
        rescan_at = time.monotonic() + 60.0
        try:
            while not self._stop.is_set():
                accepted, failed = self._settle(store, waiting, in_flight)
                if accepted and not failed:
                    backoff = 0.0
                if failed:
                    handed = 0  # the failed points are out of flight again: pick them up anew
                    backoff = min(c.backoff_max_s, max(0.5, backoff * 2))
                    resume_at = time.monotonic() + backoff
                    log.warning("influx sink backing off %.1f s (%d queued)", backoff,
                                store.sink_depth(SINK))
                if time.monotonic() >= rescan_at:
                    handed, rescan_at = 0, time.monotonic() + 60.0
                room = c.max_in_flight - len(in_flight)
                if room > 0 and time.monotonic() >= resume_at:
                    lines = []
                    for qid, payload in store.sink_batch(SINK, room, after_id=handed):
                        handed = max(handed, qid)
                        if qid in in_flight:  # only after a failure reset `handed`
                            continue
                        try:
                            line = point_line(payload).encode()
                        except (KeyError, TypeError, ValueError) as exc:
                            # The store validated it; a payload we cannot map is our bug.
                            log.error("summary %s cannot become a point (%s): dropped",
                                      payload.get("id"), exc)
                            store.sink_done([qid])
                            continue
                        waiting[line].append(qid)
                        in_flight.add(qid)
                        lines.append(line)
                    if lines:
                        api.write(bucket=c.bucket, org=c.org, record=lines,
                                  write_precision=WritePrecision.MS)  # type: ignore[arg-type]
                try:
                    self._results.put(self._results.get(timeout=self.poll_s))  # wake early
                except queue.Empty:
                    pass
        finally:
            api.close()  # waits up to max_close_wait; the rest stays queued in SQLite
            self._settle(store, waiting, in_flight)
            client.close()
            store.close()

    def _settle(self, store: Store, waiting: dict[bytes, deque[int]],
                in_flight: set[int]) -> tuple[int, bool]:
        """Apply the callbacks' results: (points accepted, whether a batch failed)."""
        failed = False
        done: list[int] = []
        while True:
            try:
                ok, data = self._results.get_nowait()
            except queue.Empty:
                break
            for line in data.split(b"\n"):
                ids = waiting.get(line)
                if not ids:
                    continue
                qid = ids.popleft()
                if not ids:
                    del waiting[line]
                in_flight.discard(qid)
                if ok:
                    done.append(qid)
            if not ok:
                self.stats.failed_batches += 1
                failed = True
        if done:
            store.sink_done(done)
            self.stats.written += len(done)
        return len(done), failed


def _brief(exc: Exception) -> str:
    status = getattr(exc, "status", None)
    return f"HTTP {status}: {getattr(exc, 'message', '') or exc}" if status else repr(exc)
