"""What every phase of the tick shares: who it writes as, and how it is asked to stop."""

from __future__ import annotations

from collections.abc import Callable

ACTOR = "scheduler"  # the actor of every event the tick writes

StopFlag = Callable[[], bool]
"""Asked between units of work (a batch of reminders, a batch of deliveries): True ends the phase there."""


def never() -> bool:
    """The stop flag of a run nobody can interrupt."""
    return False
