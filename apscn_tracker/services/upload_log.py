"""The uploads of scripted (SFTP) connections, as `apscn upload` records them: light on purpose, `apscn status`
reads it (no mail code)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlmodel import Session

from apscn_tracker.ledger.models import District, Event, Vendor

UPLOADED = "uploaded"


def last_uploads(session: Session, *, district_id: int | None = None) -> dict[tuple[str, str], date]:
    """The last recorded upload of each (LEA code, vendor name); of one district's connections only with
    ``district_id`` (its events by ``ix_event_district``, not every event of the ledger)."""
    e, d, v = Event.__table__.c, District.__table__.c, Vendor.__table__.c
    query = (
        select(d.lea_code, v.name, func.max(e.effective_on))
        .select_from(Event.__table__)
        .join(District.__table__, d.id == e.district_id)
        .join(Vendor.__table__, v.id == e.vendor_id)
        .where(e.kind == UPLOADED)
        .group_by(d.lea_code, v.name)
    )
    if district_id is not None:
        query = query.where(e.district_id == district_id)
    return {(lea, vendor): on for lea, vendor, on in session.execute(query)}
