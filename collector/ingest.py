"""The ingest worker: a persistent MQTT session, batched writes, PUBACK only after commit.

paho's automatic acknowledgement is switched off: a message is acknowledged to the broker only
once the transaction holding it has committed, so a crash at any point means redelivery (and the
store's unique ids drop the duplicate), never loss. The bounded queue is the back-pressure: when
the writer falls behind, paho's thread blocks and the broker stops sending.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from machimori import mqtt_link
from machimori.contract import counter, owntracks
from machimori.contract import mqtt as contract

from .store import IngestResult, Store

log = logging.getLogger("machimori.collector.ingest")


@dataclass
class IngestStats:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    dead: int = 0
    conflicts: int = 0  # of `dead`: a known id with a different payload
    batches: int = 0
    connected: bool = False
    last_commit: float = 0.0
    write_errors: int = 0
    queue_depth: Any = lambda: 0  # set by the worker to its queue's size


class IngestWorker:
    def __init__(self, db_path: str, mqtt_url: str, client_id: str = "machimori-collector",
                 username: str | None = None, password: str | None = None,
                 shared_group: str | None = None, batch_max: int = 500,
                 queue_max: int = 10_000, mqtt_version: int = 3,
                 session_expiry_s: int = 7 * 86400, sinks: tuple[str, ...] = (),
                 ca_file: str | None = None, cert_file: str | None = None,
                 key_file: str | None = None):
        self.store_path = db_path
        self.sinks = tuple(sinks)  # external sinks the store queues each new summary for
        # mqtt:// or mqtts:// (TLS with a CA file, optionally a client certificate and key).
        link = mqtt_link.parse(mqtt_url, ca_file, cert_file, key_file)
        self.host, self.port = link.host, link.port
        self.batch_max = batch_max
        self.stats = IngestStats()
        self._q: queue.Queue[tuple[str, bytes, int, int]] = queue.Queue(maxsize=queue_max)
        self.stats.queue_depth = self._q.qsize
        self._stop = threading.Event()
        self._shared_group = shared_group
        self.mqtt_version = mqtt_version
        self._session_expiry = session_expiry_s
        if mqtt_version == 5:
            # MQTT 5: clean_start=False plus a session expiry keeps the session (and its queue).
            c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                            protocol=mqtt.MQTTv5)
        else:
            c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                            protocol=mqtt.MQTTv311, clean_session=False)
        if username:
            c.username_pw_set(username, password)
        mqtt_link.apply(c, link)
        c.manual_ack_set(True)
        c.max_inflight_messages_set(100)
        c.reconnect_delay_set(min_delay=1, max_delay=10)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        self.client = c
        self._writer: threading.Thread | None = None

    def _on_connect(self, client, userdata, flags, reason, props) -> None:
        if reason.is_failure:
            log.error("broker refused the collector: %s", reason)
            return
        self.stats.connected = True
        client.subscribe([(contract.subscription(self._shared_group), contract.QOS)]
                         + [(t, contract.QOS) for t in owntracks.subscriptions(self._shared_group)]
                         + [(counter.subscription(self._shared_group), contract.QOS)])
        log.info("ingest connected (session present: %s)", flags.session_present)

    def _on_disconnect(self, client, userdata, flags, reason, props) -> None:
        self.stats.connected = False
        if not self._stop.is_set():
            log.warning("ingest disconnected: %s", reason)

    def _on_message(self, client, userdata, msg) -> None:
        self._q.put((msg.topic, bytes(msg.payload), msg.mid, msg.qos))

    def start(self) -> None:
        self._writer = threading.Thread(target=self._write_loop, name="ingest-writer",
                                        daemon=True)
        self._writer.start()
        if self.mqtt_version == 5:
            from paho.mqtt.packettypes import PacketTypes
            from paho.mqtt.properties import Properties

            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = self._session_expiry
            self.client.connect_async(self.host, self.port, keepalive=30, clean_start=False,
                                      properties=props)
        else:
            self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()

    def _ingest(self, store: Store | None, items: list[tuple[str, bytes]]
                ) -> tuple[Store | None, IngestResult | None]:
        """Store a batch; on a database error reconnect and retry the same batch with backoff
        (nothing of it was acknowledged, so retrying is safe). None when stopping first."""
        delay = 0.5
        while True:
            try:
                if store is None:
                    store = Store(self.store_path, sinks=self.sinks)
                return store, store.ingest(items)
            except Exception:
                self.stats.write_errors += 1
                log.exception("storing a batch of %d failed; retrying in %.1f s", len(items),
                              delay)
                if store is not None:
                    with contextlib.suppress(Exception):  # it is being replaced anyway
                        store.close()
                    store = None
                if self._stop.wait(delay):
                    return None, None
                delay = min(delay * 2, 30.0)

    def _write_loop(self) -> None:
        store: Store | None = None
        try:
            while not (self._stop.is_set() and self._q.empty()):
                try:
                    first = self._q.get(timeout=0.2)
                except queue.Empty:
                    continue
                batch = [first]
                while len(batch) < self.batch_max:
                    try:
                        batch.append(self._q.get_nowait())
                    except queue.Empty:
                        break
                store, res = self._ingest(store, [(t, p) for t, p, _, _ in batch])
                if res is None:
                    break  # stopping: the batch stays unacknowledged and will be redelivered
                self.stats.received += len(batch)
                self.stats.stored += res.stored
                self.stats.duplicates += res.duplicates
                self.stats.dead += res.dead
                self.stats.conflicts += res.conflicts
                self.stats.batches += 1
                self.stats.last_commit = time.time()
                if res.dead:
                    log.warning("%d payload(s) dead-lettered", res.dead)
                for _, _, mid, qos in batch:
                    if qos > 0:
                        self.client.ack(mid, qos)
        finally:
            if store is not None:
                store.close()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking messages, commit and acknowledge what was taken, then disconnect."""
        self.client.disconnect()
        deadline = time.monotonic() + timeout
        while not self._q.empty() and time.monotonic() < deadline:
            time.sleep(0.05)
        self._stop.set()
        if self._writer:
            self._writer.join(timeout=timeout)
        self.client.loop_stop()
