"""`apscn upload LEA [--on DATE]`: a district on scripted SFTP upload (course planning) sent its files; the
upload is recorded (an ``uploaded`` event) and the vendor's Onboarding Manager told (``upload_complete``), in one
transaction. `apscn status` shows each scripted connection's last upload."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from apscn_tracker.domain.schoolyear import SchoolYear
from apscn_tracker.errors import InputError, UserError
from apscn_tracker.ledger import queries as q
from apscn_tracker.ledger.models import Event
from apscn_tracker.mail.kinds import UPLOAD_COMPLETE
from apscn_tracker.mail.outbox import message_event
from apscn_tracker.services.app import App
from apscn_tracker.services.messages import queue_message
from apscn_tracker.services.upload_log import UPLOADED


def record_upload(app: App, *, lea: str, vendor: str = "Xello", on: date | None = None) -> dict[str, Any]:
    on = on or app.today
    if on > app.today:
        raise InputError(f"--on {on} is in the future (today is {app.today})")
    with app.ledger.write() as s:
        d = q.get_district(s, lea=lea)
        v = q.get_vendor(s, name=vendor)
        assert d.id is not None and v.id is not None  # rows read from the ledger have their ids
        c = q.find_connection(s, district_id=d.id, vendor_id=v.id)
        if c is None or c.retired_on is not None or c.method != "sftp":
            how = "no" if c is None or c.retired_on is not None else "an API (APSCN)"
            raise UserError(
                f"{d.lea_code} has {how} {v.name} connection; uploads are recorded for scripted SFTP connections "
                f"(`apscn connect {d.lea_code} --vendor {v.name} --method sftp --course-planning`)"
            )
        sy = SchoolYear.of(on)
        q.add_event(
            s, kind=UPLOADED, actor=app.actor, district_id=d.id, vendor_id=v.id, school_year=sy.start, effective_on=on
        )
        key = f"{UPLOAD_COMPLETE}:{d.id}:{v.id}:{on.isoformat()}"
        row = queue_message(
            s,
            app,
            key=key,
            kind=UPLOAD_COMPLETE,
            district_id=d.id,
            vendor_id=v.id,
            school_year=sy,
            now=datetime.now(UTC),
        )
        if row is not None:
            s.add(Event(**message_event(row, kind="message_queued", actor=app.actor)))
        return {
            "lea": d.lea_code,
            "district": d.name,
            "vendor": v.name,
            "uploaded_on": on.isoformat(),
            "told": row.to_addrs if row is not None else None,
        }
