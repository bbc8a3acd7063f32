"""`apscn import-renewals FILE [--dry-run]`: the coordinator's spreadsheet of where each district stands, checked
in full (``domain.renewal_sheet``) and written in one transaction, or not at all.

Set-based: one read of the districts, vendors, connections and renewals the file names; then bulk inserts of the
new connections, renewals and events and one executemany UPDATE of the renewals that move on (bench/RESULTS.md).
Every event's note names the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, select

from apscn_tracker.domain.renewal_sheet import Known, Planned, plan, read_sheet
from apscn_tracker.domain.schoolyear import SchoolYear, SchoolYearError, parse_year
from apscn_tracker.domain.steps import DATE_FIELDS, RenewalDates
from apscn_tracker.errors import InputError, Problems
from apscn_tracker.ledger import queries as q
from apscn_tracker.ledger.models import Connection, District, Event, Renewal, Vendor
from apscn_tracker.services.app import App

DIST, VEND, CONN, REN, EV = (
    District.__table__,
    Vendor.__table__,
    Connection.__table__,
    Renewal.__table__,
    Event.__table__,
)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"no file {path}") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a folder; give a CSV file") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None


def _year(text: str, app: App) -> SchoolYear | None:
    """The school year a cell names, or None (the check of the rows says why)."""
    try:
        return parse_year(text, app.today) if text else None
    except SchoolYearError:
        return None


def _known(s: Any, years: set[int]) -> Known:
    d, v, c, r = DIST.c, VEND.c, CONN.c, REN.c
    renewals: dict[tuple[int, int], tuple[int, RenewalDates]] = {}
    if years:
        stmt = select(r.id, r.connection_id, r.school_year, *(r[f] for f in DATE_FIELDS)).where(
            r.school_year.in_(sorted(years))
        )
        for rid, cid, sy, *dates in s.execute(stmt):
            renewals[(cid, sy)] = (rid, RenewalDates(*dates))
    return Known(
        districts={code: did for did, code in s.execute(select(d.id, d.lea_code))},
        vendors={name.lower(): (vid, name) for vid, name in s.execute(select(v.id, v.name))},
        connections={
            (did, vid): (cid, method, retired is not None)
            for cid, did, vid, method, retired in s.execute(
                select(c.id, c.district_id, c.vendor_id, c.method, c.retired_on)
            )
        },
        renewals=renewals,
    )


def import_renewals(app: App, *, path: Path, dry_run: bool = False) -> dict[str, Any]:
    data = _read(path)
    try:
        rows, problems = read_sheet(data)
    except InputError as exc:
        raise InputError(f"{path.name}: {exc}; nothing was imported") from None
    origin = path.name
    years = {y.start for y in (_year(text, app) for text in {c["school_year"] for _, c in rows}) if y}
    with app.ledger.write() as s:
        known = _known(s, years)
        planned, found = plan(
            rows, known, today=app.today, calendar=app.calendar, window=app.settings.activation_working_days
        )
        problems += found
        if problems:
            problems.sort(key=lambda p: p[0])
            raise Problems(f"{origin}: nothing was imported", problems, where="row")
        summary = _summary(origin, rows, planned, dry_run)
        if dry_run:
            s.rollback()
            return summary
        _write(s, app, planned, origin, summary)
    return summary


def _summary(origin: str, rows: list[Any], planned: list[Planned], dry_run: bool) -> dict[str, Any]:
    steps: dict[str, int] = {"requested": 0, "enabled": 0, "confirmed": 0}
    for p in planned:
        for e in p.events:
            steps[e.kind] += 1
    return {
        "file": origin,
        "rows": len(rows),
        "rows_changed": len(planned),
        "unchanged": len(rows) - len(planned),
        "steps": steps,
        "connections_created": len({(p.district_id, p.vendor_id) for p in planned if p.connection_id is None}),
        "renewals_created": sum(1 for p in planned if p.renewal_id is None),
        "dry_run": dry_run,
    }


def _write(s: Any, app: App, planned: list[Planned], origin: str, summary: dict[str, Any]) -> None:
    now = q.utcnow()

    def event(p: Planned | None, kind: str, on: Any, data: dict[str, Any] | None, note: str) -> dict[str, Any]:
        return {
            **q.event_row(
                kind=kind,
                actor=app.actor,
                district_id=p.district_id if p else None,
                vendor_id=p.vendor_id if p else None,
                school_year=p.year.start if p and kind != "connected" else None,
                effective_on=on,
                note=note,
                data=data,
            ),
            "at": now,
        }

    events: list[dict[str, Any]] = []
    new_conns = {(p.district_id, p.vendor_id): p for p in planned if p.connection_id is None}
    if new_conns:
        q.insert_rows(
            s,
            CONN,
            [
                {"district_id": d, "vendor_id": v, "method": "api", "course_planning": False, "created_on": app.today}
                for d, v in new_conns
            ],
        )
        ids = {
            (d, v): cid
            for cid, d, v in s.execute(select(CONN.c.id, CONN.c.district_id, CONN.c.vendor_id))
            if (d, v) in new_conns
        }
        for p in planned:
            if p.connection_id is None:
                p.connection_id = ids[(p.district_id, p.vendor_id)]
        events += [
            event(p, "connected", app.today, {"method": "api"}, f"created by {origin}") for p in new_conns.values()
        ]
    fresh = [p for p in planned if p.renewal_id is None]
    q.insert_rows(
        s,
        REN,
        [
            {
                "connection_id": p.connection_id,
                "school_year": p.year.start,
                **{f: getattr(p.dates, f) for f in DATE_FIELDS},
            }
            for p in fresh
        ],
    )
    moved = [p for p in planned if p.renewal_id is not None]
    if moved:
        s.connection().execute(
            REN.update().where(REN.c.id == bindparam("b_id")).values({f: bindparam(f"b_{f}") for f in DATE_FIELDS}),
            [{"b_id": p.renewal_id, **{f"b_{f}": getattr(p.dates, f) for f in DATE_FIELDS}} for p in moved],
        )
    for p in planned:
        note = f"from {origin} row {p.line}" + (f": {p.note}" if p.note else "")
        events += [event(p, e.kind, e.effective_on, e.data or None, note) for e in p.events]
    steps = summary["steps"]
    events.append(
        event(
            None,
            "renewals_imported",
            app.today,
            None,
            f"{origin}: {steps['requested']} requested, {steps['enabled']} enabled, {steps['confirmed']} confirmed",
        )
    )
    q.insert_rows(s, EV, events)
