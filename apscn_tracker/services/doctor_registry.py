"""The registry of ``apscn doctor``'s checks: each is one small function registered with its level
(``doctor_check``), run in the order registered; it returns ``fine(message)`` or ``problem(message, details)``,
and a problem takes the check's level (``fail``: exit 1; ``warn``: listed, exit 0)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from apscn_tracker.services.app import App

OK, INFO, WARN, FAIL = "ok", "info", "warn", "fail"


@dataclass
class Check:
    name: str
    status: str
    message: str
    details: list[Any] = field(default_factory=list)


def fine(message: str) -> Check:
    """A check that found nothing to do; ``message`` says what it saw."""
    return Check("", OK, message)


def problem(message: str, details: list[Any] | None = None, *, level: str = "") -> Check:
    """A check that found something; it takes the check's registered level unless ``level`` is given."""
    return Check("", level, message, list(details or []))


Probe = Callable[[App, datetime], Check | list[Check] | None]


@dataclass(frozen=True)
class DoctorCheck:
    name: str
    level: str  # the level of what it finds: FAIL (exit 1) or WARN (listed, exit 0)
    probe: Probe
    ledger: bool  # needs the ledger open


CHECKS: list[DoctorCheck] = []


def doctor_check(name: str, *, level: str, ledger: bool = True) -> Callable[[Probe], Probe]:
    """Register ``probe(app, now)`` as a check of ``doctor`` named ``name``; what it finds is ``level``."""
    if level not in (FAIL, WARN):
        raise ValueError(f"a doctor check is {FAIL} or {WARN}, not {level!r}")

    def register(probe: Probe) -> Probe:
        CHECKS.append(DoctorCheck(name, level, probe, ledger))
        return probe

    return register


def run_entry(entry: DoctorCheck, app: App, now: datetime) -> list[Check]:
    found = entry.probe(app, now)
    out = [] if found is None else found if isinstance(found, list) else [found]
    for c in out:
        c.name = c.name or entry.name
        c.status = c.status or entry.level
    return out


def run_check(name: str, app: App, now: datetime | None = None) -> list[Check]:
    """The registered check ``name`` alone (for tests and for whoever wants one answer)."""
    entry = next(e for e in CHECKS if e.name == name)
    return run_entry(entry, app, now or datetime.now(UTC))
