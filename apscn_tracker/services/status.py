"""Where each connection stands: one set-based query per school year, the status decided in the domain."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import and_, or_, select

from apscn_tracker.domain.schoolyear import SchoolYear
from apscn_tracker.domain.status import STATUSES, renewal_status
from apscn_tracker.errors import UserError
from apscn_tracker.ledger import queries as q
from apscn_tracker.ledger.models import Connection, District, Event, Renewal, Vendor
from apscn_tracker.services.app import App
from apscn_tracker.services.renewals import parse_year

STATUS_FIELDS = (
    "lea",
    "district",
    "vendor",
    "school_year",
    "method",
    "status",
    "requested_on",
    "expected_enabled_by",
    "enabled_on",
    "confirmed_on",
    "disconnect_on",
    "working_days_to_enable",
)


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def resolve_years(app: App, year: str | None) -> list[SchoolYear]:
    current = SchoolYear.of(app.today)
    if year is None or year == "current":
        return [current]
    if year == "next":
        return [current.next]
    if year == "all":
        with app.ledger.transaction() as s:
            starts = set(s.scalars(select(Renewal.school_year).distinct())) | {current.start}
        return [SchoolYear(y) for y in sorted(starts)]
    return [parse_year(year, current)]


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
    years = resolve_years(app, year)
    cal, today = app.calendar, app.today
    rows: list[dict[str, Any]] = []
    with app.ledger.transaction() as s:
        filters = [Connection.retired_on.is_(None)]
        if lea:
            filters.append(Connection.district_id == q.get_district(s, lea=lea).id)
        if vendor:
            filters.append(Connection.vendor_id == q.get_vendor(s, name=vendor).id)
        for sy in years:
            stmt = (
                select(
                    District.lea_code,
                    District.name,
                    Vendor.name,
                    Connection.method,
                    Renewal.requested_on,
                    Renewal.expected_enabled_by,
                    Renewal.enabled_on,
                    Renewal.confirmed_on,
                )
                .select_from(Connection)
                .join(District, District.id == Connection.district_id)
                .join(Vendor, Vendor.id == Connection.vendor_id)
                .outerjoin(Renewal, and_(Renewal.connection_id == Connection.id, Renewal.school_year == sy.start))
                .where(*filters, or_(Connection.created_on <= sy.ends, Renewal.id.is_not(None)))
                .order_by(District.lea_code, Vendor.name)
            )
            for lea_code, dname, vname, method, req, exp, ena, conf in s.execute(stmt):
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
                        "school_year": sy.label,
                        "method": method,
                        "status": st.value,
                        "requested_on": _iso(req),
                        "expected_enabled_by": _iso(exp),
                        "enabled_on": _iso(ena),
                        "confirmed_on": _iso(conf),
                        "disconnect_on": _iso(sy.ends) if method == "api" else None,
                        "working_days_to_enable": cal.working_days_between(req, ena) if req and ena else None,
                    }
                )
    return rows


def history(app: App, *, lea: str) -> list[dict[str, Any]]:
    with app.ledger.transaction() as s:
        d = q.get_district(s, lea=lea)
        rows = s.execute(
            select(
                Event.at,
                Event.effective_on,
                Event.kind,
                Vendor.name,
                Event.school_year,
                Event.actor,
                Event.note,
                Event.data,
            )
            .outerjoin(Vendor, Vendor.id == Event.vendor_id)
            .where(Event.district_id == d.id)
            .order_by(Event.id)
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
