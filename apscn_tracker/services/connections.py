"""Connections: a district x vendor, by API (renewed yearly through APSCN) or SFTP (scripted upload)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import col

from apscn_tracker.errors import UserError
from apscn_tracker.ledger import queries as q
from apscn_tracker.ledger.models import Connection, District, Event
from apscn_tracker.services.app import App

METHODS = ("api", "sftp")


def connect(
    app: App,
    *,
    lea: str | None,
    vendor: str = "Xello",
    method: str | None = None,
    course_planning: bool = False,
    all_districts: bool = False,
) -> dict[str, Any]:
    """Connect one district (or, with ``all_districts``, every district without one) to a vendor.

    Course planning needs the scripted SFTP route, so ``course_planning`` implies ``sftp``.
    """
    if bool(lea) == bool(all_districts):
        raise UserError("give one LEA or --all")
    if method is None:
        method = "sftp" if course_planning else "api"
    if method not in METHODS:
        raise UserError(f"method {method!r}: use api or sftp")
    if course_planning and method == "api":
        raise UserError("course planning goes through the scripted SFTP upload; use --method sftp")
    today = app.today
    with app.ledger.write() as s:
        v = q.get_vendor(s, name=vendor)
        if all_districts:
            have = select(col(Connection.district_id)).where(col(Connection.vendor_id) == v.id)
            ids = list(
                s.scalars(select(col(District.id)).where(col(District.id).not_in(have)).order_by(col(District.id)))
            )
            if ids:
                q.insert_rows(
                    s,
                    Connection.__table__,
                    [
                        {
                            "district_id": i,
                            "vendor_id": v.id,
                            "method": method,
                            "course_planning": course_planning,
                            "created_on": today,
                        }
                        for i in ids
                    ],
                )
                event = q.event_row(
                    kind="connected", actor=app.actor, vendor_id=v.id, effective_on=today, data={"method": method}
                )
                q.insert_rows(s, Event.__table__, [{**event, "district_id": i} for i in ids])
            return {"vendor": v.name, "method": method, "connected": len(ids)}
        d = q.get_district(s, lea=lea or "")
        assert d.id is not None and v.id is not None  # rows read from the ledger have their ids
        c = q.find_connection(s, district_id=d.id, vendor_id=v.id)
        data = {"method": method, "course_planning": course_planning}
        if c is not None and c.retired_on is None:
            if c.method == method and c.course_planning == course_planning:
                raise UserError(f"{d.lea_code} is already connected to {v.name} by {c.method}")
            data["was"] = c.method
            c.method, c.course_planning = method, course_planning
            kind = "connection_changed"
        elif c is not None:
            data["reactivated"] = True
            c.method, c.course_planning, c.retired_on = method, course_planning, None
            kind = "connected"
        else:
            s.add(
                Connection(
                    district_id=d.id,
                    vendor_id=v.id,
                    method=method,
                    course_planning=course_planning,
                    created_on=today,
                )
            )
            kind = "connected"
        q.add_event(s, kind=kind, actor=app.actor, district_id=d.id, vendor_id=v.id, effective_on=today, data=data)
        return {"lea": d.lea_code, "district": d.name, "vendor": v.name, "method": method, "connected": 1}


def retire(app: App, *, lea: str, vendor: str = "Xello", note: str | None = None) -> dict[str, Any]:
    with app.ledger.write() as s:
        d = q.get_district(s, lea=lea)
        v = q.get_vendor(s, name=vendor)
        assert d.id is not None and v.id is not None  # rows read from the ledger have their ids
        c = q.find_connection(s, district_id=d.id, vendor_id=v.id)
        if c is None:
            raise UserError(f"{d.lea_code} has no {v.name} connection")
        if c.retired_on is not None:
            raise UserError(f"the {v.name} connection of {d.lea_code} was retired on {c.retired_on}")
        c.retired_on = app.today
        q.add_event(
            s,
            kind="retired",
            actor=app.actor,
            district_id=d.id,
            vendor_id=v.id,
            effective_on=app.today,
            note=note,
        )
        return {"lea": d.lea_code, "vendor": v.name, "retired_on": app.today.isoformat()}
