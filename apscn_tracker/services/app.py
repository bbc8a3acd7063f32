"""The context every use case runs in: settings, today's date, the actor, the ledger (opened lazily)."""

from __future__ import annotations

import getpass
import os
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING

from apscn_tracker.config import Settings, load_settings, local_today
from apscn_tracker.domain.workdays import StateCalendar

if TYPE_CHECKING:
    from apscn_tracker.ledger.db import Ledger


def default_actor() -> str:
    try:
        return os.environ.get("APSCN_ACTOR") or getpass.getuser()
    except Exception:  # no user name on this system
        return "unknown"


class App:
    def __init__(self, settings: Settings, *, today: date | None = None, actor: str | None = None):
        self.settings = settings
        self.today = today or local_today(settings)
        self.actor = actor or default_actor()
        self._ledger: Ledger | None = None

    @classmethod
    def from_env(cls, *, today: date | None = None, **overrides) -> App:
        return cls(load_settings(**overrides), today=today)

    @property
    def ledger(self) -> Ledger:
        """The ledger, opened on first use; refused in one line where there is none (only ``init`` creates)."""
        if self._ledger is None:
            from apscn_tracker.ledger.db import open_ledger  # lazy: SQLAlchemy costs ~150 ms, `--help` needs none

            self._ledger = open_ledger(self.settings)
        return self._ledger

    def create_ledger(self) -> Ledger:
        """Open the ledger, creating it (and its folder) where there is none: ``apscn init`` only."""
        if self._ledger is None:
            from apscn_tracker.ledger.db import open_ledger  # lazy: as above

            self._ledger = open_ledger(self.settings, create=True)
        return self._ledger

    @cached_property
    def calendar(self) -> StateCalendar:
        s = self.settings
        return StateCalendar(
            extra_closures=s.extra_closures,
            removed_closures=s.removed_closures,
            collision_policy=s.christmas_collision,
        )

    def close(self) -> None:
        if self._ledger is not None:
            self._ledger.dispose()
            self._ledger = None
