"""Where each connection stands: one set-based query per school year, the status decided in the domain.

``status`` is the command a coordinator runs most: it reads Core statements on the models' tables
(``Model.__table__``), so no ORM object is built (an unknown LEA or vendor aside, whose suggestions come from
the ledger's lookups). ``history`` reads the event log of one district.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlmodel import Session

from apscn_tracker.domain.lea import lookup_code
from apscn_tracker.domain.schoolyear import SchoolYear, parse_years
from apscn_tracker.domain.status import STATUSES, Status, renewal_status
from apscn_tracker.errors import UserError
from apscn_tracker.ledger import queries as q
from apscn_tracker.ledger.models import Connection, District, Event, Renewal, Vendor
from apscn_tracker.services.app import App
from apscn_tracker.services.upload_log import last_uploads

CONNECTION, DISTRICT, VENDOR, RENEWAL, EVENT = (
    Connection.__table__,
    District.__table__,
    Vendor.__table__,
    Renewal.__table__,
    Event.__table__,
)


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def resolve_years(app: App, year: str | None, session: Session) -> list[SchoolYear]:
    return parse_years(year, app.today, on_record=lambda: session.scalars(select(RENEWAL.c.school_year).distinct()))


def row_status(row: Any, year: SchoolYear, today: date) -> Status:
    """The status on ``today`` of one row of ``status_statement`` (read by ``status`` and the web's board)."""
    _lea, _district, _vendor, method, req, exp, ena, conf = row
    return renewal_status(
        method=method,
        year=year,
        today=today,
        requested_on=req,
        expected_enabled_by=exp,
        enabled_on=ena,
        confirmed_on=conf,
    )


def status_statement(year: SchoolYear, *, district_id: int | None = None, vendor_id: int | None = None):
    """The select behind ``status_rows`` for one school year (exposed for the query-plan tests): every active
    connection with its renewal of the year, if any, in LEA and vendor order."""
    c, d, v, r = CONNECTION.c, DISTRICT.c, VENDOR.c, RENEWAL.c
    stmt = (
        select(
            d.lea_code,
            d.name,
            v.name,
            c.method,
            r.requested_on,
            r.expected_enabled_by,
            r.enabled_on,
            r.confirmed_on,
        )
        .select_from(CONNECTION)
        .join(DISTRICT, d.id == c.district_id)
        .join(VENDOR, v.id == c.vendor_id)
        .outerjoin(RENEWAL, and_(r.connection_id == c.id, r.school_year == year.start))
        .where(c.retired_on.is_(None), or_(c.created_on <= year.ends, r.id.is_not(None)))
        .order_by(d.lea_code, v.name)
    )
    if district_id is not None:
        stmt = stmt.where(c.district_id == district_id)
    if vendor_id is not None:
        stmt = stmt.where(c.vendor_id == vendor_id)
    return stmt


def _district_id(session: Session, lea: str) -> int:
    found = session.scalar(select(DISTRICT.c.id).where(DISTRICT.c.lea_code == lookup_code(lea)))
    if found is None:  # a part of a name, or the lookup's own NotFound with its suggestions
        d = q.get_district(session, lea=lea)
        assert d.id is not None  # read from the ledger
        return d.id
    return int(found)


def _vendor_id(session: Session, name: str) -> int:
    found = session.scalar(select(VENDOR.c.id).where(func.lower(VENDOR.c.name) == name.strip().lower()))
    if found is None:  # the lookup's own NotFound, with its suggestions
        q.get_vendor(session, name=name)
        raise AssertionError("the lookup found what the light query did not")  # pragma: no cover
    return int(found)


def status_rows(
    app: App,
    *,
    year: str | None = None,
    lea: str | None = None,
    vendor: str | None = None,
    only: str | None = None,
) -> list[dict[str, Any]]:
    if only is not None and only not in STATUSES:
        raise UserError(f"unknown status {only!r}; use one of {', '.join(STATUSES)}")
    cal, today = app.calendar, app.today
    between = cal.working_days_between
    rows: list[dict[str, Any]] = []
    with app.ledger.read() as s:
        years = resolve_years(app, year, s)
        district_id = _district_id(s, lea) if lea else None
        vendor_id = _vendor_id(s, vendor) if vendor else None
        for sy in years:
            label, ends = sy.label, _iso(sy.ends)
            stmt = status_statement(sy, district_id=district_id, vendor_id=vendor_id)
            for row in s.execute(stmt):
                lea_code, dname, vname, method, req, exp, ena, conf = row
                st = row_status(row, sy, today)
                if only is not None and st != only:
                    continue
                rows.append(
                    {
                        "lea": lea_code,
                        "district": dname,
                        "vendor": vname,
                        "school_year": label,
                        "method": method,
                        "status": st.value,
                        "requested_on": _iso(req),
                        "expected_enabled_by": _iso(exp),
                        "enabled_on": _iso(ena),
                        "confirmed_on": _iso(conf),
                        "disconnect_on": ends if method == "api" else None,
                        "working_days_to_enable": between(req, ena) if req and ena else None,
                    }
                )
        if any(r["method"] == "sftp" for r in rows):  # a scripted connection: its last upload
            uploads = last_uploads(s, district_id=district_id)
            for r in rows:
                last = uploads.get((r["lea"], r["vendor"])) if r["method"] == "sftp" else None
                r["last_upload"] = _iso(last)
    return rows


def history(app: App, *, lea: str) -> list[dict[str, Any]]:
    e, v = EVENT.c, VENDOR.c
    with app.ledger.read() as s:
        d = q.get_district(s, lea=lea)
        rows = s.execute(
            select(e.at, e.effective_on, e.kind, v.name, e.school_year, e.actor, e.note, e.data)
            .select_from(EVENT)
            .outerjoin(VENDOR, v.id == e.vendor_id)
            .where(e.district_id == d.id)
            .order_by(e.id)
        ).all()
    return [
        {
            "at": f"{at:%Y-%m-%dT%H:%M:%S}",  # UTC, as the column heading says
            "on": _iso(on),
            "kind": kind,
            "vendor": vname,
            "school_year": SchoolYear(sy).label if sy is not None else None,
            "actor": actor,
            "note": note,
            "data": (loaded := json.loads(data) if data else None),
            "source": loaded.get("source") if isinstance(loaded, dict) else None,  # link: reported by the district
            "change": what_changed(kind, loaded),
        }
        for at, on, kind, vname, sy, actor, note, data in rows
    ]


def what_changed(kind: str, data: dict[str, Any] | None) -> str | None:
    """What a correction changed, in words: ``requested 2026-09-10 -> 2026-09-08``, ``undid enabled (was ...)``."""
    if kind != "corrected" or not data:
        return None
    if data.get("undo"):
        return f"undid {str(data['undo']).removesuffix('_on')} (was {data.get('old')})"
    return f"{str(data.get('field', '')).removesuffix('_on')} {data.get('old')} -> {data.get('new')}"
