"""The actuator worker: the controller's loop, sending queued commands, storing the acks.

Runs in the collector process beside ingest with its own MQTT session (persistent, so acks that
arrive while the collector is down are delivered after it restarts) and its own database
connection. A command is sent only from its row in actuator_commands; a row is marked sent after
paho has the message, and an ack is acknowledged to the broker only after it is committed.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from machimori.contract import mqtt as contract

from . import actuators as act
from .store import connect, migrate

log = logging.getLogger("machimori.collector.actuators")
COMMAND_TTL_S = 60.0  # a gateway refuses a command older than this (it sat in a queue)


class ActuatorWorker:
    def __init__(self, db_url: str, mqtt_url: str, client_id: str = "machimori-collector-act",
                 username: str | None = None, password: str | None = None,
                 period_s: float = 1.0):
        self.db_url = db_url
        u = urlparse(mqtt_url)
        self.host, self.port = u.hostname or "127.0.0.1", u.port or 1883
        self.period_s = period_s
        self.counters: Counter[str] = Counter()
        self._acks: queue.Queue[tuple[str, bytes, int]] = queue.Queue()
        self._stop = threading.Event()
        self._connected = threading.Event()
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                        protocol=mqtt.MQTTv311, clean_session=False)
        if username:
            c.username_pw_set(username, password)
        c.manual_ack_set(True)
        c.reconnect_delay_set(min_delay=1, max_delay=10)
        c.on_connect = self._on_connect
        c.on_disconnect = lambda *_a: self._connected.clear()
        c.on_message = lambda _c, _u, m: self._acks.put((m.topic, bytes(m.payload), m.mid))
        self.client = c
        self._thread: threading.Thread | None = None

    def _on_connect(self, client, userdata, flags, reason, props) -> None:
        if reason.is_failure:
            log.error("broker refused the actuator worker: %s", reason)
            return
        client.subscribe([(contract.ack_topic("+"), contract.QOS),
                          (contract.actuator_state_topic("+", "+"), contract.QOS)])
        self._connected.set()

    def start(self) -> ActuatorWorker:
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()
        self._thread = threading.Thread(target=self._run, name="actuators", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        db = connect(self.db_url)
        migrate(db)
        try:
            while not self._stop.is_set():
                try:
                    self.step(db, time.time())
                except Exception:
                    self.counters["errors"] += 1
                    log.exception("actuator step failed; trying again")
                self._stop.wait(self.period_s)
        finally:
            db.close()

    def step(self, db, now: float) -> None:
        self._take_acks(db, now)
        spots = act.all_actuators(db)
        live = act.live_wbgt(db, now) if spots else []
        for a in spots:
            wbgt = act.wbgt_near(db, a, now, live)
            db.execute("UPDATE actuators SET wbgt = ?, wbgt_at = ? WHERE id = ?", (wbgt, now, a.id))
            pending, last = act.open_commands(db, a.id)
            d = act.decide(a, wbgt, pending, last, now)
            if d is not None:
                act.queue_command(db, a, d[0], "auto", d[1], wbgt, now)
                self.counters["auto_commands"] += 1
        if self._connected.is_set():
            self._send(db, now)
        if act.fail_unanswered(db, now):
            self.counters["unanswered"] += 1

    def _send(self, db, now: float) -> None:
        rows = db.execute("SELECT id, actuator, gw, action, hold_s, created_at FROM "
                          "actuator_commands WHERE sent_at IS NULL AND result IS NULL "
                          "ORDER BY created_at").fetchall()
        for r in rows:
            body = {"schema": contract.SCHEMA_IDS["command"], "id": r["id"], "gw": r["gw"],
                    "device": r["actuator"], "action": r["action"], "hold_s": r["hold_s"],
                    "ts": now, "expires": now + COMMAND_TTL_S}
            contract.validate("command", body)
            info = self.client.publish(contract.command_topic(r["gw"], r["actuator"]),
                                       contract.encode(body), qos=contract.QOS)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                break
            db.execute("UPDATE actuator_commands SET sent_at = ? WHERE id = ?", (now, r["id"]))
            self.counters["sent"] += 1

    def _take_acks(self, db, now: float) -> None:
        while True:
            try:
                topic, raw, mid = self._acks.get_nowait()
            except queue.Empty:
                return
            try:
                info, p = contract.decode_message(topic, raw)
                if info.message not in ("ack", "actuator_state"):
                    raise contract.ContractError("not an ack or an actuator state")
            except contract.ContractError as exc:
                self.counters["bad_acks"] += 1
                db.execute("INSERT INTO dead_letters (topic, payload, reason, received_at) "
                           "VALUES (?, ?, ?, ?)", (topic, raw, str(exc), now))
            else:
                if info.message == "actuator_state":
                    if not act.record_state(db, p, now):
                        self.counters["unknown_states"] += 1
                elif not act.record_ack(db, p, now):
                    self.counters["unknown_acks"] += 1
            self.client.ack(mid, contract.QOS)

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        self.client.disconnect()
        self.client.loop_stop()
