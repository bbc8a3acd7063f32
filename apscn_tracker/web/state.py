"""What the web process holds: the settings, the ledger (opened once, shared by every request), the templates
and the sign-in throttle. A request gets its own ``App`` (today's date, the signed-in user as the actor)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from apscn_tracker.config import Settings
from apscn_tracker.ledger.db import Ledger, open_ledger
from apscn_tracker.report.render import environment
from apscn_tracker.resources import templates_dir
from apscn_tracker.services.app import App
from apscn_tracker.web.throttle import Throttle


def web_templates() -> Path:
    return templates_dir() / "web"


class WebState:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.secure_cookies = (settings.public_url or "").lower().startswith("https://")
        self.throttle = Throttle()
        self._ledger: Ledger | None = None
        self._lock = threading.Lock()
        self._env: Any = None

    @property
    def ledger(self) -> Ledger:
        with self._lock:
            if self._ledger is None:
                self._ledger = open_ledger(self.settings)
            return self._ledger

    @property
    def env(self) -> Any:
        """The project's Jinja environment (the report's: sandboxed, HTML autoescaped, undefined names an error)
        over ``templates/web/``."""
        with self._lock:
            if self._env is None:
                self._env = environment([web_templates()])
            return self._env

    def app(self, actor: str | None = None) -> App:
        """A use-case context for one request: today in the configured time zone, the user as the actor."""
        a = App(self.settings, actor=actor or "web")
        a._ledger = self.ledger  # shared by every request; closed by ``close`` when the server stops
        return a

    def close(self) -> None:
        with self._lock:
            if self._ledger is not None:
                self._ledger.dispose()
                self._ledger = None
