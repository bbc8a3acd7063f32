"""Rebuild a renewal's dates from its events: the projection the ledger keeps must equal this fold.

The fold applies each recorded event through ``steps.change``, the same change the live steps make (see
``domain.steps`` for why the replay does not check the events again).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from apscn_tracker.domain.steps import DATE_FIELDS, EVENT_KINDS, FIELD_OF_STEP, RenewalDates, change

__all__ = ["DATE_FIELDS", "EVENT_KINDS", "FIELD_OF_STEP", "RenewalDates", "fold"]


def fold(events: Iterable[tuple[str, date | None, dict[str, Any]]], start: RenewalDates | None = None) -> RenewalDates:
    """Apply ``(kind, effective_on, data)`` events in order to ``start`` (no dates by default).

    An event it cannot read (an unknown field, a date that is not one) raises ``KeyError``, ``TypeError``,
    ``ValueError`` or ``AttributeError``; a recorded event is never refused for its rules.
    """
    values = list((start or RenewalDates()).as_tuple())
    for event in events:
        change(values, event)
    return RenewalDates(*values)
