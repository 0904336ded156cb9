"""The watch worker in the collector process, beside ingest: the engine's turn every tick, and
the notifier draining the queue. Both keep everything in the database, so a restart (or a
SIGKILL) picks up exactly where the last commit left off."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from pathlib import Path

from ..store import connect, migrate
from . import crypto
from .config import WatchConfig
from .notify import Notifier, NotifyStats
from .state import cycle

log = logging.getLogger("machimori.collector.watch")


def vapid_path(cfg: WatchConfig, db_url: str) -> Path:
    if cfg.vapid_key_file:
        return Path(cfg.vapid_key_file)
    base = crypto.default_key_file(db_url)
    return base.with_name(base.name.replace(".watch-key", ".vapid.pem")) if base else \
        Path("vapid.pem")


class WatchWorker:
    def __init__(self, db_url: str, cfg: WatchConfig):
        self.db_url, self.cfg = db_url, cfg
        try:
            self.keys: crypto.Keyring | None = crypto.load(cfg.key_file, db_url)
        except crypto.WatchKeyError as exc:
            # The engine needs no key (it sees ids, not names): it runs, and messages wait in
            # the queue, retried, until the collector is restarted with a key ring.
            log.warning("watch: %s; alerts are raised but messages wait until a key ring is "
                        "given", exc)
            self.keys = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self.stats = NotifyStats()
        self.errors = 0

    def start(self) -> WatchWorker:
        db = connect(self.db_url)
        migrate(db)
        db.close()
        for target, name in ((self._engine_loop, "watch-engine"),
                             (self._notify_loop, "watch-notify")):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def _loop(self, step: object, every: float, wait_on: threading.Event | None) -> None:
        db = None
        while not self._stop.is_set():
            try:
                if db is None:
                    db = connect(self.db_url)
                step(db)  # type: ignore[operator]
            except Exception:
                self.errors += 1
                log.exception("watch worker step failed; retrying")
                if db is not None:
                    with contextlib.suppress(Exception):
                        db.close()
                db = None
                self._stop.wait(min(every * 8, 5.0))
                continue
            if wait_on is not None:
                wait_on.wait(every)
                wait_on.clear()
            else:
                self._stop.wait(every)
        if db is not None:
            db.close()

    def _engine_loop(self) -> None:
        def step(db: object) -> None:
            res = cycle(db, self.cfg.engine, time.time())  # type: ignore[arg-type]
            if res.notifications:
                self._wake.set()
        self._loop(step, self.cfg.tick_s, None)

    def _notify_loop(self) -> None:
        notifier: Notifier | None = None

        def step(db: object) -> None:
            nonlocal notifier
            if notifier is None or notifier.db is not db:
                notifier = Notifier(db, self.cfg, self.keys,  # type: ignore[arg-type]
                                    vapid_path(self.cfg, self.db_url))
                notifier.stats = self.stats
            notifier.run_once(time.time())
        self._loop(step, self.cfg.tick_s, self._wake)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        for t in self._threads:
            t.join(timeout)
