"""The status of a connection's renewal on a given day (the README's "Statuses" table)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from apscn_tracker.domain.schoolyear import SchoolYear


class Status(StrEnum):
    NOT_REQUESTED = "not_requested"
    LAPSED = "lapsed"
    REQUESTED = "requested"
    OVERDUE = "overdue"
    ENABLED = "enabled"
    CONFIRMED = "confirmed"
    DISCONNECTED = "disconnected"
    SCRIPTED = "scripted"


STATUSES = tuple(s.value for s in Status)
# Statuses a coordinator must act on.
AT_RISK = frozenset({Status.LAPSED, Status.OVERDUE, Status.NOT_REQUESTED})


def renewal_status(
    *,
    method: str,
    year: SchoolYear,
    today: date,
    requested_on: date | None,
    expected_enabled_by: date | None,
    enabled_on: date | None,
    confirmed_on: date | None,
) -> Status:
    """Decide the status of one connection for one school year on ``today``."""
    if method == "sftp":
        return Status.SCRIPTED
    if today > year.ends:
        return Status.DISCONNECTED
    if requested_on is None:
        return Status.LAPSED if today >= year.begins else Status.NOT_REQUESTED
    if enabled_on is None:
        if expected_enabled_by is not None and today > expected_enabled_by:
            return Status.OVERDUE
        return Status.REQUESTED
    if confirmed_on is None:
        return Status.ENABLED
    return Status.CONFIRMED
