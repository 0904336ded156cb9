"""A simulated serial device on a pseudo-terminal: clients open its path like a USB dongle.

The device side is the pty master; it runs a reader thread that hands every received chunk to a
handler and writes whatever the handler returns. Optionally a stable symlink points at the pty
(like /dev/serial/by-id/...), so that "unplug" and "replug" can be simulated: the link goes away
and later points at a fresh pty, as udev does with a real dongle.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import threading
import tty
from collections.abc import Callable
from pathlib import Path
from typing import Self

Handler = Callable[[bytes], bytes]


class PtyDevice:
    def __init__(self, handler: Handler | None = None, link: str | Path | None = None):
        self.handler = handler
        self.link = Path(link) if link else None
        self._master = -1
        self._slave = -1
        self.path = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._wlock = threading.Lock()
        self.dropped = 0  # bytes a full pty buffer refused (nobody reading), as a UART drops them

    def open(self) -> Self:
        self._master, self._slave = os.openpty()
        # Raw: no echo, no CR/LF translation by the line discipline - the bytes are the device's.
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.path = os.ttyname(self._slave)
        if self.link is not None:
            tmp = self.link.with_name(self.link.name + ".new")
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            tmp.symlink_to(self.path)
            os.replace(tmp, self.link)
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=f"pty {self.path}", daemon=True)
        self._thread.start()
        return self

    @property
    def port(self) -> str:
        """What a client should open: the stable link if there is one."""
        return str(self.link) if self.link is not None else self.path

    def write(self, data: bytes) -> None:
        with self._wlock:
            view = memoryview(data)
            while view and self._master >= 0:
                try:
                    n = os.write(self._master, view)
                except BlockingIOError:
                    self.dropped += len(view)
                    return
                except OSError as exc:
                    if exc.errno in (errno.EIO, errno.EBADF):
                        return
                    raise
                view = view[n:]

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self._master], [], [], 0.1)
            except (OSError, ValueError):
                return
            if not ready:
                continue
            try:
                data = os.read(self._master, 4096)
            except BlockingIOError:
                continue
            except OSError:
                return  # EIO: closed
            if data and self.handler is not None:
                out = self.handler(data)
                if out:
                    self.write(out)

    def close(self) -> None:
        """Unplug: the client's next read fails, and the link disappears."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        if self.link is not None:
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()
        with self._wlock:
            for fd in (self._master, self._slave):
                if fd >= 0:
                    with contextlib.suppress(OSError):
                        os.close(fd)
            self._master = self._slave = -1

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()
