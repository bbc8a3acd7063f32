"""A ledger whose district emails carry links, and the link taken out of a message."""

from __future__ import annotations

import re

from apscn_tracker.services import connections, districts
from apscn_tracker.services.setup import init

PUBLIC = "https://apscn.example.org"
A, B = "6001000", "0401000"  # two districts, each with its own contact
LINK = re.compile(r"https://apscn\.example\.org/r/([A-Za-z0-9_-]+)")


def linked_ledger(make_app, today: str = "2027-05-20"):
    """An initialised ledger on ``today`` with public_url set; districts A and B connected to Xello by API,
    each with one contact."""
    app = make_app(today, public_url=PUBLIC)
    init(app)
    for lea, who in ((A, "Dana Diaz"), (B, "Evan Eng")):
        districts.edit_district(
            app, lea=lea, add_emails=[f"{who.split()[0].lower()}@{lea}.k12.example"], contact_name=who
        )
        connections.connect(app, lea=lea, vendor="Xello", method="api")
    return app


def tokens(text: str) -> list[str]:
    """The tokens of the links in ``text``, in order."""
    return LINK.findall(text)
