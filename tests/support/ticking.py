"""Ticking a real ledger day by day: connections with a contact, a tick on a frozen morning, the outbox."""

from __future__ import annotations

from datetime import date
from typing import Any

from freezegun import freeze_time
from sqlalchemy import select

from apscn_tracker.ledger.models import District, Outbox
from apscn_tracker.services import connections, districts
from apscn_tracker.services.tick import tick

COORDINATOR = "coordinator@coop.example"


def connect_api(app: Any, lea: str, *, contact: str | None = "Pat Reyes") -> None:
    """An API connection to Xello, with one named contact (none for ``contact=None``)."""
    if contact:
        email = f"{contact.split()[0].lower()}@{lea}.k12.example"
        districts.edit_district(app, lea=lea, add_emails=[email], contact_name=contact)
    connections.connect(app, lea=lea, vendor="Xello", method="api")


def tick_on(app: Any, today: date, **kw: Any) -> dict[str, Any]:
    """The tick of ``today``'s morning (13:00 UTC, 07:00-08:00 in Arkansas)."""
    app.today = today
    with freeze_time(f"{today.isoformat()} 13:00:00"):
        return tick(app, **kw)


def messages(app: Any) -> list[dict[str, Any]]:
    """Every outbox row in queue order: kind, lea, school_year (start), subject, text, html."""
    with app.ledger.read() as s:
        rows = s.execute(
            select(
                Outbox.kind, District.lea_code, Outbox.school_year, Outbox.subject, Outbox.body_text, Outbox.body_html
            )
            .outerjoin(District, District.id == Outbox.district_id)
            .order_by(Outbox.id)
        ).all()
    keys = ("kind", "lea", "school_year", "subject", "text", "html")
    return [dict(zip(keys, row, strict=True)) for row in rows]
