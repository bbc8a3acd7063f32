"""Sign-in attempts are limited: after ``LIMIT`` failures in ``WINDOW`` seconds for one address or from one
client, further attempts are refused (429) until the oldest failure leaves the window. In memory: the server is
one process, and a restart forgetting the count costs an attacker a restart of ours, which they cannot cause."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque

LIMIT = 5
WINDOW = 15 * 60.0


class Throttle:
    def __init__(self, limit: int = LIMIT, window: float = WINDOW) -> None:
        self.limit, self.window = limit, window
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._failures[key]
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def retry_after(self, *keys: str) -> int:
        """Seconds until an attempt is allowed for all ``keys`` (0: allowed now)."""
        now = time.monotonic()
        wait = 0.0
        with self._lock:
            for key in keys:
                q = self._recent(key, now)
                if len(q) >= self.limit:
                    wait = max(wait, q[0] + self.window - now)
        return int(wait) + 1 if wait else 0

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)
