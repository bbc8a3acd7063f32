"""The 29 districts of the first bundled roster: the fault and crash scenarios connect these, so their counts and
timings stay those of a 29-district ledger now that the bundled roster has every Arkansas LEA."""

from __future__ import annotations

from apscn_tracker.services import connections
from apscn_tracker.services.app import App

EARLIER_ROSTER = (
    "0101000",
    "0104000",
    "0401000",
    "0505000",
    "1612000",
    "2906000",
    "4003000",
    "4605000",
    "5605000",
    "5803000",
    "5804000",
    "5805000",
    "5901000",
    "5903000",
    "6001000",
    "6040700",
    "6043700",
    "6047700",
    "6050700",
    "6102000",
    "6103000",
    "6301000",
    "6302000",
    "6303000",
    "6304000",
    "6401000",
    "7009000",
    "7207000",
    "7510000",
)


def connect_earlier_roster(app: App) -> None:
    """Connect the 29 districts of the first bundled roster to Xello by API."""
    for lea in EARLIER_ROSTER:
        connections.connect(app, lea=lea, vendor="Xello", method="api")
