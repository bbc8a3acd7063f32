"""Configured closures that change nothing: a Saturday or a Sunday is no state working day anyway."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date


def weekend_closure_warning(extra: Iterable[date], removed: Iterable[date]) -> str | None:
    """One line naming the configured closures (``extra_closures``, ``removed_closures``) that fall on a Saturday
    or Sunday, or None. A warning, not an error: the setting is valid, only useless."""
    weekend = [f"{day.isoformat()} ({day:%A})" for day in sorted({*extra, *removed}) if day.weekday() >= 5]
    if not weekend:
        return None
    what = "closures on a weekend change" if len(weekend) > 1 else "a closure on a weekend changes"
    return (
        f"{what} nothing (state offices are closed then anyway): {', '.join(weekend)}; "
        "check extra_closures / removed_closures"
    )
