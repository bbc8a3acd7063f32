"""Roster import: validate the whole file first, then write every row in one transaction (or none)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, select

from apscn_tracker.domain.roster import Roster, RosterError, RosterProblems, parse_roster
from apscn_tracker.errors import Problems, UserError
from apscn_tracker.ledger import queries as q
from apscn_tracker.ledger.models import Contact, District, Event
from apscn_tracker.services.app import App


def read_roster(path: Path) -> Roster:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"no file {path}") from None
    except IsADirectoryError:
        raise UserError(f"{path} is a folder; give a CSV file") from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return parse_roster(data)
    except RosterProblems as exc:
        raise Problems(f"{path.name}: nothing was imported", exc.problems) from None
    except RosterError as exc:
        raise UserError(f"{path.name}: {exc}; nothing was imported") from None


Progress = Callable[[int, int], None]
"""Called with (rows written, rows to write) as an import goes (the CLI draws a bar from it)."""
CHUNK = 5_000  # rows per executemany, between two progress reports


def import_roster(
    app: App, *, path: Path, dry_run: bool = False, source: str | None = None, progress: Progress | None = None
) -> dict[str, Any]:
    roster = read_roster(path)
    return apply_roster(app, roster=roster, dry_run=dry_run, origin=path.name, source=source, progress=progress)


def apply_roster(
    app: App,
    *,
    roster: Roster,
    dry_run: bool = False,
    origin: str = "roster",
    source: str | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Set-based: one read of what exists, bulk inserts and updates, one event per change.

    The inserts are plain ``executemany`` (``queries.insert_rows``), no ORM bulk machinery: at 13,000 districts
    that is most of the difference with plain ``sqlite3`` (bench/RESULTS.md)."""
    added: list[dict[str, Any]] = []
    renamed: list[dict[str, Any]] = []
    new_contacts: list[tuple[str, Any]] = []
    dist, cont = District.__table__.c, Contact.__table__.c
    with app.ledger.write() as s:
        existing = {
            lea: (did, {"name": name, "county": county, "nces_leaid": nces})
            for did, lea, name, county, nces in s.execute(
                select(dist.id, dist.lea_code, dist.name, dist.county, dist.nces_leaid)
            )
        }
        known_contacts = {(i, e) for i, e in s.execute(select(cont.district_id, cont.email))}
        now = q.utcnow()
        by_nces = {old["nces_leaid"]: (lea, old["name"]) for lea, (_, old) in existing.items() if old["nces_leaid"]}
        for d in roster.districts:
            row = existing.get(d.lea)
            if row is None and d.nces in by_nces:  # the NCES id matches a district under another code
                lea, name = by_nces[d.nces]
                roster.warnings.append(
                    f"LEA {d.lea} has the NCES LEA ID {d.nces} of {lea} {name}: a new code for the same district? "
                    f"Both are kept; `apscn retire {lea}` stops tracking the old one"
                )
            if row is None:
                added.append(
                    {
                        "lea_code": d.lea,
                        "name": d.name,
                        "county": d.county,
                        "nces_leaid": d.nces,
                        "source": d.source or source,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                new_contacts.extend((d.lea, c) for c in d.contacts)
                continue
            did, old = row
            given = {"name": d.name, "county": d.county, "nces_leaid": d.nces}
            fields = {f: [old[f], new] for f, new in given.items() if new and new != old[f]}
            if fields:
                renamed.append(
                    {"b_id": did, "lea": d.lea, "fields": fields, **{f: new or old[f] for f, new in given.items()}}
                )
            new_contacts.extend((d.lea, c) for c in d.contacts if (did, c.email) not in known_contacts)
        summary = {
            "file": origin,
            "format": roster.format,
            "districts": len(roster.districts),
            "added": len(added),
            "updated": len(renamed),
            "contacts_added": len(new_contacts),
            "unchanged": len(roster.districts) - len(added) - len(renamed),
            "skipped_other_states": roster.skipped,
            "warnings": roster.warnings,
            "dry_run": dry_run,
            "changes": [f"add {a['lea_code']} {a['name']}" for a in added]
            + [f"change {r['lea']} {f} {o!r} -> {n!r}" for r in renamed for f, (o, n) in r["fields"].items()],
            "field_changes": [
                {"lea": r["lea"], "field": f, "old": o, "new": n} for r in renamed for f, (o, n) in r["fields"].items()
            ],
        }
        if dry_run:
            s.rollback()
            return summary
        conn = s.connection()
        districts, contacts, events_table = District.__table__, Contact.__table__, Event.__table__
        total = 2 * len(added) + 2 * len(renamed) + len(new_contacts) + 1
        written = 0

        def write(table: Any, rows: list[dict[str, Any]]) -> None:
            nonlocal written
            for i in range(0, len(rows), CHUNK):
                chunk = rows[i : i + CHUNK]
                q.insert_rows(s, table, chunk)
                written += len(chunk)
                if progress is not None:
                    progress(written, total)

        if added:
            write(districts, added)
            ids = {
                lea: did
                for lea, did in conn.execute(select(districts.c.lea_code, districts.c.id))
                if lea not in existing
            }
        else:
            ids = {}
        if renamed:  # one executemany UPDATE by primary key
            conn.execute(
                districts.update()
                .where(districts.c.id == bindparam("b_id"))
                .values(
                    name=bindparam("b_name"),
                    county=bindparam("b_county"),
                    nces_leaid=bindparam("b_nces"),
                    updated_at=bindparam("b_at"),
                ),
                [
                    {
                        "b_id": r["b_id"],
                        "b_name": r["name"],
                        "b_county": r["county"],
                        "b_nces": r["nces_leaid"],
                        "b_at": now,
                    }
                    for r in renamed
                ],
            )
            written += len(renamed)
        lookup = {lea: did for lea, (did, _) in existing.items()} | ids
        if new_contacts:
            write(
                contacts,
                [
                    {"district_id": lookup[lea], "email": c.email, "name": c.name, "role": c.role}
                    for lea, c in new_contacts
                ],
            )

        def event(kind: str, district_id: int | None, note: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
            # every event of the import carries the same time as the rows it records
            return {**q.event_row(kind=kind, actor=app.actor, district_id=district_id, note=note, data=data), "at": now}

        added_event = event("district_added", None, f"from {origin}")
        events = [{**added_event, "district_id": ids[a["lea_code"]]} for a in added]
        events += [event("district_edited", r["b_id"], f"from {origin}", r["fields"]) for r in renamed]
        events.append(
            event(
                "roster_imported",
                None,
                f"{origin}: {summary['added']} added, {summary['updated']} updated, "
                f"{summary['contacts_added']} contacts added",
            )
        )
        write(events_table, events)
    return summary
