"""Where each connection stands: one set-based query per school year, the status decided in the domain.

``status`` is the command a coordinator runs most, so it reads through SQLAlchemy Core and the light tables of
``ledger.tables``: no ORM object, and the ORM is not even imported (an error path aside). ``history`` uses the
models.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import and_, func, or_, select

from apscn_tracker.domain.schoolyear import SchoolYear, parse_years
from apscn_tracker.domain.status import STATUSES, renewal_status
from apscn_tracker.errors import UserError
from apscn_tracker.ledger import tables as t
from apscn_tracker.services.app import App


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def resolve_years(app: App, year: str | None, conn: Any) -> list[SchoolYear]:
    return parse_years(year, app.today, on_record=lambda: conn.scalars(select(t.renewal.c.school_year).distinct()))


def status_statement(year: SchoolYear, *, district_id: int | None = None, vendor_id: int | None = None):
    """The select behind ``status_rows`` for one school year (exposed for the query-plan tests): every active
    connection with its renewal of the year, if any, in LEA and vendor order."""
    c, d, v, r = t.connection, t.district, t.vendor, t.renewal
    stmt = (
        select(
            d.c.lea_code,
            d.c.name,
            v.c.name,
            c.c.method,
            r.c.requested_on,
            r.c.expected_enabled_by,
            r.c.enabled_on,
            r.c.confirmed_on,
        )
        .select_from(c)
        .join(d, d.c.id == c.c.district_id)
        .join(v, v.c.id == c.c.vendor_id)
        .outerjoin(r, and_(r.c.connection_id == c.c.id, r.c.school_year == year.start))
        .where(c.c.retired_on.is_(None), or_(c.c.created_on <= year.ends, r.c.id.is_not(None)))
        .order_by(d.c.lea_code, v.c.name)
    )
    if district_id is not None:
        stmt = stmt.where(c.c.district_id == district_id)
    if vendor_id is not None:
        stmt = stmt.where(c.c.vendor_id == vendor_id)
    return stmt


def _district_id(app: App, conn: Any, lea: str) -> int:
    from apscn_tracker.domain.lea import lookup_code

    found = conn.scalar(select(t.district.c.id).where(t.district.c.lea_code == lookup_code(lea)))
    if found is None:
        _not_found(app, lea=lea)
    return found


def _vendor_id(app: App, conn: Any, name: str) -> int:
    found = conn.scalar(select(t.vendor.c.id).where(func.lower(t.vendor.c.name) == name.strip().lower()))
    if found is None:
        _not_found(app, vendor=name)
    return found


def _not_found(app: App, *, lea: str | None = None, vendor: str | None = None) -> None:
    """Raise the lookup's own NotFound, with its suggestions (the ORM is loaded on this error path only)."""
    from apscn_tracker.ledger import queries as q

    with app.ledger.read() as s:
        if lea is not None:
            q.get_district(s, lea=lea)
        if vendor is not None:
            q.get_vendor(s, name=vendor)
    raise AssertionError("the lookup found what the light query did not")  # pragma: no cover


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
    with app.ledger.reading() as conn:
        years = resolve_years(app, year, conn)
        district_id = _district_id(app, conn, lea) if lea else None
        vendor_id = _vendor_id(app, conn, vendor) if vendor else None
        for sy in years:
            label, ends = sy.label, _iso(sy.ends)
            stmt = status_statement(sy, district_id=district_id, vendor_id=vendor_id)
            for lea_code, dname, vname, method, req, exp, ena, conf in conn.execute(stmt):
                st = renewal_status(
                    method=method,
                    year=sy,
                    today=today,
                    requested_on=req,
                    expected_enabled_by=exp,
                    enabled_on=ena,
                    confirmed_on=conf,
                )
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
                        "requested_on": req.isoformat() if req else None,
                        "expected_enabled_by": exp.isoformat() if exp else None,
                        "enabled_on": ena.isoformat() if ena else None,
                        "confirmed_on": conf.isoformat() if conf else None,
                        "disconnect_on": ends if method == "api" else None,
                        "working_days_to_enable": between(req, ena) if req and ena else None,
                    }
                )
    return rows


def history(app: App, *, lea: str) -> list[dict[str, Any]]:
    from sqlmodel import col

    from apscn_tracker.ledger import queries as q
    from apscn_tracker.ledger.models import Event, Vendor

    with app.ledger.read() as s:
        d = q.get_district(s, lea=lea)
        rows = s.execute(
            select(
                col(Event.at),
                col(Event.effective_on),
                col(Event.kind),
                col(Vendor.name),
                col(Event.school_year),
                col(Event.actor),
                col(Event.note),
                col(Event.data),
            )
            .outerjoin(Vendor, col(Vendor.id) == Event.vendor_id)
            .where(col(Event.district_id) == d.id)
            .order_by(col(Event.id))
        ).all()
    return [
        {
            "at": at.isoformat(timespec="seconds"),
            "on": _iso(on),
            "kind": kind,
            "vendor": vname,
            "school_year": SchoolYear(sy).label if sy is not None else None,
            "actor": actor,
            "note": note,
            "data": json.loads(data) if data else None,
        }
        for at, on, kind, vname, sy, actor, note, data in rows
    ]
