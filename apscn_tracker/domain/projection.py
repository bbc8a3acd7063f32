"""Rebuild a renewal's dates from its events: the projection the ledger keeps must equal this fold."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

FIELD_OF_STEP = {"request": "requested_on", "enable": "enabled_on", "confirm": "confirmed_on"}
STEP_OF_EVENT = {
    "requested": "requested_on",
    "enabled": "enabled_on",
    "confirmed": "confirmed_on",
    "disconnected": "disconnected_on",
}
EVENT_KINDS = (*STEP_OF_EVENT, "corrected")
"""The event kinds ``fold`` reads."""


@dataclass
class RenewalDates:
    requested_on: date | None = None
    expected_enabled_by: date | None = None
    enabled_on: date | None = None
    confirmed_on: date | None = None
    disconnected_on: date | None = None

    def as_tuple(self) -> tuple[date | None, ...]:
        """The dates in ``DATE_FIELDS`` order."""
        return tuple(getattr(self, name) for name in DATE_FIELDS)


DATE_FIELDS = tuple(f.name for f in fields(RenewalDates))
"""The renewal's date columns, as ``RenewalDates`` (and the ``renewal`` table) name them."""


def _d(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


def fold(events: Iterable[tuple[str, date | None, dict[str, Any]]]) -> RenewalDates:
    """Apply ``(kind, effective_on, data)`` events in order.

    ``requested`` carries ``expected_enabled_by`` in its data; ``corrected`` carries ``field`` and ``new``
    (plus ``expected_enabled_by`` when the request date moved) or ``undo`` (a field name).
    """
    state = RenewalDates()
    for kind, on, data in events:
        if kind in STEP_OF_EVENT:
            setattr(state, STEP_OF_EVENT[kind], on)
            if kind == "requested":
                state.expected_enabled_by = _d(data.get("expected_enabled_by"))
        elif kind == "corrected":
            if data.get("undo"):
                setattr(state, data["undo"], None)
                if data["undo"] == "requested_on":
                    state.expected_enabled_by = None
            else:
                setattr(state, data["field"], _d(data["new"]))
                if data["field"] == "requested_on":
                    state.expected_enabled_by = _d(data.get("expected_enabled_by"))
    return state
