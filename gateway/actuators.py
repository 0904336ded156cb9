"""Actuator commands: MQTT command -> the device's UART line -> its ack line -> MQTT ack.

`CommandRelay` is pure (payloads, lines and time in; lines to write and acks to publish out).
`ActuatorPort` is the pyserial adapter (reconnects with backoff, never raises for an unplugged
port); `CommandClient` the paho adapter: a persistent session subscribed to this gateway's own
command topic, each command acknowledged to the broker only once it was written to the device
or answered, so a gateway killed in between gets it again after restart.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from machimori.contract import actuator as ac
from machimori.contract import mqtt as contract

from .config import GatewayConfig

log = logging.getLogger("machimori.gateway.actuators")
ANSWER_S = 5.0  # a device answers within a tick; after this the command failed (no_answer)


@dataclass
class Pending:
    device: str
    deadline: float


class CommandRelay:
    """Commands for this gateway's actuators: check, forward, match the answers."""

    def __init__(self, gw: str, devices: tuple[str, ...]):
        self.gw = gw
        self.devices = set(devices)
        self.pending: dict[str, Pending] = {}
        self.states: dict[str, dict[str, Any]] = {}
        self.counters: Counter[str] = Counter()
        self._bufs: dict[str, bytes] = {}

    def ack(self, cid: str, device: str, result: str, reason: str | None, now: float,
            on: bool | None = None) -> tuple[str, bytes]:
        body: dict[str, Any] = {"schema": contract.SCHEMA_IDS["ack"], "id": cid, "gw": self.gw,
                                "device": device, "result": result, "ts": now}
        if reason:
            body["reason"] = reason
        if on is not None:
            body["on"] = on
        contract.validate("ack", body)
        self.counters[f"acks_{result}"] += 1
        return contract.ack_topic(self.gw), contract.encode(body)

    def command(self, topic: str, raw: bytes, now: float
                ) -> tuple[tuple[str, bytes] | None, tuple[str, bytes] | None]:
        """(device, line to write) or None, and an ack to publish now or None."""
        try:
            info, p = contract.decode_message(topic, raw)
            if info.message != "command" or info.gw != self.gw:
                raise contract.ContractError("not a command for this gateway")
        except contract.ContractError as exc:
            self.counters["rejected_commands"] += 1
            log.warning("command refused before the device: %s", exc)
            return None, None  # no trustworthy id to answer to
        self.counters["commands"] += 1
        dev, cid = p["device"], p["id"]
        if dev not in self.devices:
            return None, self.ack(cid, dev, "failed", "unknown_device", now)
        if "expires" in p and p["expires"] < now:
            return None, self.ack(cid, dev, "failed", "expired", now)
        line = ac.encode_command(ac.Command(cid, p["action"], int(p.get("hold_s", 0)),
                                            min(10000, round(p.get("wind_ms", 0.0) * 10))))
        self.pending[cid] = Pending(dev, now + ANSWER_S)
        return (dev, line), None

    def feed(self, device: str, data: bytes, now: float) -> list[tuple[str, bytes]]:
        """Bytes from a device's port: acks for pending commands, and a state message for each
    state line (published retained)."""
        buf = self._bufs.get(device, b"") + data
        out = []
        while (i := buf.find(b"\n")) >= 0:
            raw, buf = buf[:i + 1], buf[i + 1:]
            if not raw.strip():
                continue
            try:
                line = ac.parse(raw)
            except ac.ActuatorLineError as exc:
                reason = "checksum" if str(exc) == "checksum mismatch" else "format"
                self.counters[f"rejected_actuator_{reason}"] += 1
                continue
            if isinstance(line, ac.Ack):
                pend = self.pending.get(line.id)
                if pend is None or pend.device != device:
                    self.counters["unexpected_acks"] += 1
                    continue
                del self.pending[line.id]
                out.append(self.ack(line.id, device, line.result, line.reason, now, line.on))
            elif isinstance(line, ac.State):
                st = {"on": line.on, "rh": line.rh_centi / 100 if line.rh_centi >= 0 else None,
                      "override": line.override, "on_s": line.on_s, "ts": now}
                self.states[device] = st
                self.counters["actuator_states"] += 1
                body = {"schema": contract.SCHEMA_IDS["actuator_state"], "gw": self.gw,
                        "device": device, **st}
                contract.validate("actuator_state", body)
                out.append((contract.actuator_state_topic(self.gw, device),
                            contract.encode(body)))
            else:
                self.counters["rejected_actuator_format"] += 1
        if len(buf) > ac.MAX_LINE:
            self.counters["rejected_line_too_long"] += 1
            buf = b""
        self._bufs[device] = buf
        return out

    def expire(self, now: float) -> list[tuple[str, bytes]]:
        late = [cid for cid, p in self.pending.items() if p.deadline < now]
        return [self.ack(cid, self.pending.pop(cid).device, "failed", "no_answer", now)
                for cid in late]


class ActuatorPort:
    """One actuator's serial port; write() and read() never raise for a vanished device."""

    def __init__(self, port: str, baud: int = 9600, backoff: tuple[float, float] = (0.2, 10.0)):
        self.port, self.baud = port, baud
        self.backoff_min, self.backoff_max = backoff
        self._ser: Any = None
        self._delay = self.backoff_min
        self._next_try = 0.0
        self.counters: Counter[str] = Counter()

    def _ensure(self) -> bool:
        import serial

        if self._ser is not None:
            return True
        now = time.monotonic()
        if now < self._next_try:
            return False
        try:
            self._ser = serial.Serial(self.port, self.baud, timeout=0)
        except (serial.SerialException, OSError) as exc:
            log.warning("actuator port %s: %s; retrying in %.1f s", self.port, exc, self._delay)
            self._next_try = now + self._delay
            self._delay = min(self._delay * 2, self.backoff_max)
            return False
        self._delay = self.backoff_min
        self.counters["actuator_connects"] += 1
        return True

    def _drop(self) -> None:
        import contextlib

        with contextlib.suppress(Exception):
            self._ser.close()
        self._ser = None
        self.counters["actuator_disconnects"] += 1

    def write(self, data: bytes) -> bool:
        import serial

        if not self._ensure():
            return False
        try:
            self._ser.write(data)
            return True
        except (serial.SerialException, OSError):
            self._drop()
            return False

    def read(self) -> bytes:
        import serial

        if not self._ensure():
            return b""
        try:
            return bytes(self._ser.read(self._ser.in_waiting or 1))
        except (serial.SerialException, OSError):
            self._drop()
            return b""

    def close(self) -> None:
        if self._ser is not None:
            self._ser.close()
            self._ser = None


class CommandClient:
    """paho: this gateway's command topics in, acks out (QoS 1, persistent session)."""

    def __init__(self, cfg: GatewayConfig):
        self.cfg = cfg
        self.inbox: queue.Queue[tuple[str, bytes, int]] = queue.Queue()
        self.connected = threading.Event()  # set on SUBACK: commands now reach this gateway
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"machimori-gw-{cfg.id}-cmd",
                        protocol=mqtt.MQTTv311, clean_session=False)
        if cfg.mqtt.username:
            c.username_pw_set(cfg.mqtt.username, cfg.mqtt.password)
        c.manual_ack_set(True)
        c.reconnect_delay_set(min_delay=1, max_delay=15)
        c.on_connect = self._on_connect
        c.on_subscribe = lambda *_a: self.connected.set()  # SUBACK: commands now reach us
        c.on_disconnect = lambda *_a: self.connected.clear()
        c.on_message = lambda _c, _u, msg: self.inbox.put((msg.topic, bytes(msg.payload),
                                                           msg.mid))
        self.client = c

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                    props: Any) -> None:
        if reason.is_failure:
            log.error("broker refused the command client: %s", reason)
            return
        client.subscribe(contract.command_topic(self.cfg.id, "#"), qos=contract.QOS)

    def start(self) -> CommandClient:
        self.client.connect_async(self.cfg.mqtt.host, self.cfg.mqtt.port, self.cfg.mqtt.keepalive)
        self.client.loop_start()
        return self

    def publish(self, topic: str, payload: bytes) -> None:
        # The device's state is retained: the collector (and a restarted one) knows it at once.
        retain = contract.parse_topic(topic).message == "actuator_state"
        self.client.publish(topic, payload, qos=contract.QOS, retain=retain)

    def done(self, mid: int) -> None:
        self.client.ack(mid, contract.QOS)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Actuators:
    """The daemon's view: poll() once per tick moves commands, answers and timeouts along."""

    def __init__(self, cfg: GatewayConfig, client: CommandClient | None = None,
                 clock: Callable[[], float] = time.time):
        devs = [d for d in cfg.devices if d.kind == "actuator" and d.port]
        self.relay = CommandRelay(cfg.id, tuple(d.id for d in devs))
        self.ports = {d.id: ActuatorPort(d.port or "") for d in devs}
        self.client = client or CommandClient(cfg)
        self.clock = clock
        self.counters = self.relay.counters

    def stats(self) -> dict[str, Any]:
        return {"subscribed": self.client.connected.is_set(), "devices": self.relay.states}

    def start(self) -> Actuators:
        self.client.start()
        return self

    def poll(self) -> None:
        now = self.clock()
        while True:
            try:
                topic, raw, mid = self.client.inbox.get_nowait()
            except queue.Empty:
                break
            write, ack = self.relay.command(topic, raw, now)
            if write is not None and not self.ports[write[0]].write(write[1]):
                self.relay.pending.pop(ac.parse(write[1]).id, None)  # type: ignore[union-attr]
                ack = self.relay.ack(ac.parse(write[1]).id, write[0],  # type: ignore[union-attr]
                                     "failed", "port", now)
            if ack is not None:
                self.client.publish(*ack)
            self.client.done(mid)
        for dev, port in self.ports.items():
            data = port.read()
            if data:
                for ack in self.relay.feed(dev, data, now):
                    self.client.publish(*ack)
        for ack in self.relay.expire(now):
            self.client.publish(*ack)

    def close(self) -> None:
        self.client.stop()
        for p in self.ports.values():
            p.close()
