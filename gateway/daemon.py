"""`machimori gw run`: the gateway daemon — source -> pipeline -> outbox -> MQTT.

The loop is single-threaded over plain values; paho runs its own network thread and the
publisher a sender thread. A stats file in the data dir lets `gw status` look inside.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

log = logging.getLogger("machimori.gateway")
TICK_S = 0.2
STATS_EVERY_S = 1.0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run the gateway daemon",
                       description="Run the gateway: hear devices, detect, summarise, forward.")
    p.add_argument("--config", required=True, help="gateway TOML configuration file")
    p.add_argument("--exit-when-drained", action="store_true",
                   help="with a sim source that has sim_minutes: exit once everything is sent")
    p.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING (default INFO)")
    p.set_defaults(func=_cmd_run)


def _cmd_run(args: argparse.Namespace) -> int:
    from .config import ConfigError, load

    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        cfg = load(args.config)
    except ConfigError as exc:
        print(f"configuration error: {exc}")
        return 2
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return run(cfg, stop, exit_when_drained=args.exit_when_drained)


def _write_stats(path: Path, stats: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(stats, ensure_ascii=False, indent=1))
    os.replace(tmp, path)


def _open_pipeline(cfg: Any, state_path: Path) -> Any:
    """A pipeline with everything learnt before the last stop (or kill) put back."""
    from . import state
    from .pipeline import Pipeline
    from .sources import people_secret

    secret = people_secret(cfg.data_dir)
    pipeline = Pipeline(cfg, people_secret=secret)
    got = state.load_into(pipeline, state_path)
    if got == "failed":  # possibly half restored: start clean, and say so in the counters
        pipeline = Pipeline(cfg, people_secret=secret)
        pipeline.counters["state_restore_failed"] += 1
    log.info("learnt state %s from %s", got, state_path)
    return pipeline


def _save_state(pipeline: Any, path: Path) -> None:
    from . import state

    try:
        state.save(path, state.snapshot(pipeline))
    except OSError as exc:  # a full SD card must not stop the watch; the old snapshot stays
        pipeline.counters["state_save_failed"] += 1
        log.error("cannot save %s: %s", path, exc)


def run(cfg: Any, stop: threading.Event, exit_when_drained: bool = False) -> int:
    from .clockstep import StepDetector
    from .outbox import Outbox, OutboxLimits
    from .pipeline import emit
    from .publisher import Publisher
    from .sources import MeterBridges, RouteBReader
    from .state import FILE as STATE_FILE

    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    outbox = Outbox(cfg.data_dir / "outbox.sqlite", OutboxLimits(
        int(cfg.outbox.max_mb * 1024 * 1024), cfg.outbox.max_age_days * 86400))
    state_path = cfg.data_dir / STATE_FILE
    pipeline = _open_pipeline(cfg, state_path)
    bridges = MeterBridges(cfg)
    counters_path = cfg.data_dir / "bthome_counters.json"
    _restore_counters(pipeline, counters_path)
    anomaly_path = cfg.data_dir / "anomaly_state.npz"  # the general detector's learnt series
    pipeline.anomaly.load(anomaly_path)
    routeb = RouteBReader(cfg).start() if cfg.routeb.port else None
    actuators = None
    if any(d.kind == "actuator" for d in cfg.devices):
        from .actuators import Actuators

        actuators = Actuators(cfg).start()
    publisher = Publisher(cfg, outbox, status_extra=lambda: {"devices": len(cfg.devices)})
    source, clock = _open_source(cfg)
    steps = StepDetector(cfg.sim.speed if cfg.source == "sim" else 1.0)
    pipeline.resume(clock())
    publisher.start()
    log.info("gateway %s running: %d devices, stream %s, outbox depth %d", cfg.id,
             len(cfg.devices), outbox.epoch, outbox.depth())
    sim_end = None
    status_every = cfg.status_interval_s
    next_status = time.monotonic() + status_every
    limit = clock()
    next_stats = 0.0
    finished = False
    stats_path = cfg.data_dir / "stats.json"
    try:
        while not stop.is_set():
            now = clock()
            if step := steps.observe(now, time.monotonic()):
                log.warning("wall clock stepped by %+.1f s: windows re-aligned", step)
                pipeline.clock_step(step)
                if sim_end is not None:
                    sim_end += step
            if actuators is not None:  # commands keep flowing after a sim run has finished
                actuators.poll()
            if not finished:
                if sim_end is None and cfg.sim.sim_minutes is not None and cfg.source == "sim":
                    sim_end = now + cfg.sim.sim_minutes * 60
                limit = now if sim_end is None else min(now, sim_end)
                adverts, lines = source.poll(limit)
                for adv in adverts:
                    pipeline.on_advert(adv)
                for dev, raw, ts in lines + bridges.poll(now):
                    pipeline.on_pulse_line(dev, raw, ts)
                if routeb is not None:
                    for r in routeb.poll():
                        pipeline.on_meter_reading(routeb.device_id, r.ts, r.power_w,
                                                  r.energy_kwh)
                pending = pipeline.tick(limit)
                if sim_end is not None and now >= sim_end:
                    pending += pipeline.flush(sim_end)
                    finished = True
                    log.info("simulation finished; %d messages produced", outbox.last_seq())
                if pending:
                    emit(cfg.id, pending, outbox, time.time(), pipeline.counters)
                    publisher.notify()
            if finished and exit_when_drained and outbox.depth() == 0:
                break
            mono = time.monotonic()
            if mono >= next_status:
                publisher.publish_status()
                _save_counters(pipeline, counters_path)
                _save_state(pipeline, state_path)
                pipeline.anomaly.save(anomaly_path)
                next_status = mono + status_every
            if mono >= next_stats:
                _write_stats(stats_path, {
                    "gw": cfg.id, "wall": time.time(), "now": now, "epoch": outbox.epoch,
                    **outbox.status(time.time()), "last_seq": outbox.last_seq(),
                    "sent": publisher.sent, "acked": publisher.acked_total,
                    "in_flight": publisher.in_flight(), "connects": publisher.connects,
                    "counters": _counters(pipeline, source, bridges, routeb, actuators),
                    "actuators": actuators.stats() if actuators is not None else None,
                    "last_seen": pipeline.last_seen,
                    "kernel_timings": {
                        "windows": pipeline.timings["windows"],
                        "window_close_ms_mean": round(1000 * pipeline.timings["window_close_s"]
                                                      / max(1, pipeline.timings["windows"]), 3)}})
                next_stats = mono + STATS_EVERY_S
            stop.wait(TICK_S)
    finally:
        if not finished:  # SIGTERM: the partial window is summarised, not lost
            pending = pipeline.flush(limit)
            if pending:
                emit(cfg.id, pending, outbox, time.time(), pipeline.counters)
        _save_counters(pipeline, counters_path)
        _save_state(pipeline, state_path)
        pipeline.anomaly.save(anomaly_path)
        if routeb is not None:
            routeb.stop()
        bridges.close()
        if actuators is not None:
            actuators.close()
        if hasattr(source, "stop"):
            source.stop()
        publisher.stop(drain_timeout=2.0 if exit_when_drained else 0.0)
        _write_stats(stats_path, {"gw": cfg.id, "wall": time.time(), "stopped": True,
                                  "epoch": outbox.epoch, **outbox.status(time.time()),
                                  "last_seq": outbox.last_seq(),
                                  "counters": _counters(pipeline, source, bridges, routeb)})
        outbox.close()
    return 0


def _restore_counters(pipeline: Any, path: Path) -> None:
    tracker = pipeline.decoder.tracker
    if tracker is None or not path.exists():
        return
    try:
        tracker.restore({a: int(c) for a, c in json.loads(path.read_text()).items()})
    except (ValueError, TypeError, AttributeError) as exc:
        log.error("ignoring unreadable %s (%s): replay protection restarts empty", path, exc)


def _save_counters(pipeline: Any, path: Path) -> None:
    """Encryption counters survive restarts (saved every status period and at stop), so a
    captured advert replayed after a reboot is still refused."""
    tracker = pipeline.decoder.tracker
    if tracker is not None and (counters := tracker.counters()):
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(counters))
        os.replace(tmp, path)


def _counters(pipeline: Any, *sources: Any) -> dict[str, int]:
    total = pipeline.all_counters()
    for s in sources:
        c = getattr(s, "counters", None)
        if c:
            total.update({f"source_{k}" if k in total else k: v for k, v in c.items()})
    return dict(total)


def _open_source(cfg: Any) -> tuple[Any, Any]:
    """The configured advert source, found by name (gateway/sources.py): never an import of
    the simulator here."""
    from .sources import open_source

    opened = open_source(cfg.source, cfg)
    return opened.source, opened.clock
