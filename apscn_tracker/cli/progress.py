"""A progress bar on stderr for the long commands (roster import, report, calendar)."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any


class Progress:
    """A progress bar on stderr for work that takes more than ``delay`` seconds, on a terminal only.

    ``update(done, total)`` moves the bar; before the first update (or with ``total`` 0) it shows the elapsed
    time. Nothing is drawn when stderr is not a terminal (scripts, ``--json`` pipelines, tests) or when the
    work ends within ``delay``. A thread redraws once a second, so a long step without updates still shows
    that it is alive. No dependency: ``rich`` is not loaded for it.
    """

    def __init__(self, label: str, *, delay: float = 1.0, stream: Any = None) -> None:
        self.label = label
        self.delay = delay
        self.stream = stream or sys.stderr
        self.done = 0
        self.total = 0
        self._shown = False
        self._stop: Any = None
        self._thread: Any = None
        self._lock: Any = None
        self._started = 0.0

    def __enter__(self) -> Progress:
        self._started = time.monotonic()
        self._lock = threading.Lock()
        if self.stream.isatty():
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._tick, name="progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
        if self._shown:
            with self._lock:
                self.stream.write("\r\x1b[2K")
                self.stream.flush()

    def update(self, done: int, total: int) -> None:
        self.done, self.total = done, total
        if self._shown:
            self._draw()

    def _tick(self) -> None:
        while not self._stop.wait(min(self.delay, 1.0) if not self._shown else 1.0):
            if time.monotonic() - self._started >= self.delay:
                self._shown = True
                self._draw()

    def _draw(self) -> None:
        elapsed = int(time.monotonic() - self._started)
        if self.total:
            width = 30
            filled = min(width, width * self.done // self.total)
            bar = "#" * filled + "." * (width - filled)
            text = f"{self.label} [{bar}] {100 * self.done // self.total:3d}% {self.done:,}/{self.total:,} {elapsed}s"
        else:
            text = f"{self.label} ... {elapsed}s"
        with self._lock:
            self.stream.write("\r\x1b[2K" + text)
            self.stream.flush()
