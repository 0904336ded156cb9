"""MQTT uplink: hands outbox messages to paho, deletes them on PUBACK, keeps a retained status.

At most `inflight` messages are with paho at once (back-pressure: the rest wait on disk). paho
retransmits its in-flight messages after a reconnect; after a process restart everything still
in the outbox is sent again, and the collector's idempotent ingest drops the duplicates.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from machimori import mqtt_link
from machimori.contract import mqtt as contract

from .config import GatewayConfig
from .outbox import Outbox

log = logging.getLogger("machimori.gateway.publisher")
VERSION = "0.1.0"


class Publisher:
    def __init__(self, cfg: GatewayConfig, outbox: Outbox,
                 status_extra: Callable[[], dict[str, Any]] | None = None):
        self.cfg = cfg
        self.outbox = outbox
        self._status_extra = status_extra or (dict)
        self._mid_to_seq: dict[int, int] = {}  # seq 0: a status message, nothing to delete
        self._early: set[int] = set()  # PUBACKs that beat the recording of their mid
        self._acked: list[int] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._connected = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sent = 0
        self.acked_total = 0
        self.connects = 0

        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"machimori-gw-{cfg.id}",
                        protocol=mqtt.MQTTv311, clean_session=True)
        if cfg.mqtt.username:
            c.username_pw_set(cfg.mqtt.username, cfg.mqtt.password)
        self.link = cfg.mqtt.link
        mqtt_link.apply(c, self.link)  # mqtts://: TLS, broker certificate checked
        c.will_set(contract.status_topic(cfg.id), self._status_payload("offline"), qos=1,
                   retain=True)
        c.max_inflight_messages_set(cfg.mqtt.inflight)
        c.max_queued_messages_set(0)
        c.reconnect_delay_set(min_delay=1, max_delay=15)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_publish = self._on_publish
        self.client = c

    def _status_payload(self, state: str) -> bytes:
        now = time.time()
        body: dict[str, Any] = {"schema": contract.SCHEMA_IDS["status"], "gw": self.cfg.id,
                                "state": state, "ts": now, "version": VERSION,
                                "epoch": self.outbox.epoch}
        if state == "online":
            body.update(self.outbox.status(now))
            try:
                body["disk_free_bytes"] = shutil.disk_usage(self.outbox.path.parent).free
            except OSError:
                pass  # the status still goes out; the metric shows the gap
            body.update(self._status_extra())
        contract.validate("status", body)
        return contract.encode(body)

    # paho callbacks (network thread)
    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                    props: Any) -> None:
        if reason.is_failure:
            log.error("broker refused connection: %s", reason)
            return
        self.connects += 1
        log.info("connected to %s", self.cfg.mqtt.url)
        info = client.publish(contract.status_topic(self.cfg.id),
                              self._status_payload("online"), qos=1, retain=True)
        self._record(info.mid, 0)
        self._connected.set()
        self._wake.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                       props: Any) -> None:
        self._connected.clear()
        if not self._stop.is_set():
            log.warning("disconnected (%s); paho reconnects and resends what is in flight", reason)

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason: Any,
                    props: Any) -> None:
        with self._lock:
            seq = self._mid_to_seq.pop(mid, None)
            if seq is None:
                self._early.add(mid)
            elif seq:
                self._acked.append(seq)
        self._wake.set()

    def _record(self, mid: int, seq: int) -> None:
        # paho's lock must not be taken under ours (its callbacks take ours): record after
        # publish() returns, and settle a PUBACK that arrived in between.
        with self._lock:
            if mid in self._early:
                self._early.discard(mid)
                if seq:
                    self._acked.append(seq)
            else:
                self._mid_to_seq[mid] = seq

    # the sender thread
    def start(self) -> None:
        self.client.connect_async(self.link.host, self.link.port, self.cfg.mqtt.keepalive)
        self.client.loop_start()
        self._thread = threading.Thread(target=self._run, name="mqtt-sender", daemon=True)
        self._thread.start()

    def notify(self) -> None:
        """New messages are in the outbox."""
        self._wake.set()

    def _run(self) -> None:
        cursor = 0  # highest seq handed to paho in this process
        while not self._stop.is_set():
            self._wake.wait(0.5)
            self._wake.clear()
            with self._lock:
                acked, self._acked = self._acked, []
                free = self.cfg.mqtt.inflight - len(self._mid_to_seq)
            if acked:
                self.outbox.ack(acked)
                self.acked_total += len(acked)
            if not self._connected.is_set() or free <= 0:
                continue
            for seq, topic, payload in self.outbox.peek(cursor, free):
                info = self.client.publish(topic, payload, qos=contract.QOS)
                self._record(info.mid, seq)
                cursor = seq
                self.sent += 1

    def in_flight(self) -> int:
        with self._lock:
            return sum(1 for s in self._mid_to_seq.values() if s)

    def publish_status(self) -> None:
        if self._connected.is_set():
            info = self.client.publish(contract.status_topic(self.cfg.id),
                                       self._status_payload("online"), qos=1, retain=True)
            self._record(info.mid, 0)

    def stop(self, drain_timeout: float = 0.0) -> None:
        """Stop; with drain_timeout, first wait (bounded) for the outbox to empty."""
        deadline = time.monotonic() + drain_timeout
        while drain_timeout and time.monotonic() < deadline and self.outbox.depth() > 0:
            self._wake.set()
            time.sleep(0.05)
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=5)
        with self._lock:
            acked, self._acked = self._acked, []
        self.outbox.ack(acked)
        # A clean stop says "offline" itself; the Last Will covers the unclean ones.
        if self._connected.is_set():
            info = self.client.publish(contract.status_topic(self.cfg.id),
                                       self._status_payload("offline"), qos=1, retain=True)
            try:
                info.wait_for_publish(timeout=2)
            except (RuntimeError, ValueError):
                pass
        self.client.disconnect()
        self.client.loop_stop()
