"""Write a synthetic ledger at a given scale (default: every US district, 13,000 x 5 vendors x 10 school years).

The schema is created by the project itself (``open_ledger`` runs the migrations); the rows are then written with
the standard library's ``sqlite3`` and ``executemany``, one school year at a time, so that 650,000 connection-years
and their ~2.5 million events take well under a minute.

What the rows look like (deterministic for a given ``--seed``):

- districts with valid 7-digit LEA codes (county 01-75, district 00-99, school part 000, then 700 when more than
  7,500 are asked for), one to three contacts each; the same districts are written to ``roster.csv`` beside the
  ledger (the project's roster format) for the import benchmark;
- vendors (Xello first), one connection per district and vendor: ~3 % by scripted SFTP upload, ~2 % retired in
  some year, ~8 % created after the first year;
- renewals of API connections for each school year: ~3 % never requested; requests mostly May to August
  (55 % in May-June, 35 % in July-August, 10 % later), enabled 5-20 state working days later (97 %), confirmed a
  few working days after that (92 %); the years before the current one disconnected on June 30;
- one event per step (``requested`` with its ``expected_enabled_by``, ``enabled``, ``confirmed``,
  ``disconnected``), plus ``district_added``, ``connected``, ``retired`` and one ``roster_imported``;
- sent outbox rows for the late and overdue renewals of the two school years before the current one.

The current school year is left as it would be on the first day the tracker runs its tick: nothing of it is in
the outbox yet. ``PATH.meta.json`` records the scale, the seed, "today" and a sample LEA for the benchmarks.

Run: ``python bench/generate.py --out /some/dir/apscn.db`` (``--districts 300`` for a small ledger).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sqlite3
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from apscn_tracker.config import Settings
from apscn_tracker.domain.schoolyear import SchoolYear
from apscn_tracker.domain.workdays import StateCalendar
from apscn_tracker.ledger.db import open_ledger

TODAY = date(2026, 9, 15)  # a Tuesday, 11 weeks into the 2026-27 school year
VENDORS = (
    ("Xello", "Onboarding Team", "onboarding@xello.example"),
    ("PathwayPlus", "Dana Price", "integrations@pathwayplus.example"),
    ("GradeBridge", "Lee Morgan", "api@gradebridge.example"),
    ("CareerLink", "Sam Ortiz", "partners@careerlink.example"),
    ("DataNest", "Kim Avery", "onboarding@datanest.example"),
)
ACTORS = ("coordinator", "jdoe", "msmith", "coop-north", "coop-south")
FIRST = ("Alex", "Jordan", "Taylor", "Casey", "Morgan", "Riley", "Jamie", "Avery", "Quinn", "Harper", "Reese", "Drew")
LAST = ("Smith", "Johnson", "Brown", "Davis", "Miller", "Wilson", "Moore", "Clark", "Lewis", "Walker", "Young")
ROLES = ("Data coordinator", "Technology director", "Counselor", "Superintendent")
WORDS = (
    "Cedar",
    "Maple",
    "River",
    "Pine",
    "Oak",
    "Prairie",
    "Valley",
    "Lake",
    "Hill",
    "Spring",
    "Stone",
    "Bluff",
    "Delta",
    "Ridge",
    "Creek",
    "Meadow",
    "Forest",
    "Harbor",
    "Summit",
    "Willow",
    "Elm",
    "Bayou",
    "Ozark",
    "Union",
)


def lea_codes(n: int) -> list[str]:
    """``n`` distinct valid LEA codes: every district code (000) first, then charters (700)."""
    if n > 15_000:
        raise SystemExit("at most 15,000 districts fit the 7-digit LEA codes (75 counties x 100 x 2)")
    regular = [f"{c:02d}{d:02d}000" for c in range(1, 76) for d in range(100)]
    charter = [f"{c:02d}{d:02d}700" for c in range(1, 76) for d in range(100)]
    picked = (regular + charter)[:n]
    return sorted(picked)


def ts(day: date, seconds: int) -> str:
    """A DateTime as SQLAlchemy stores it in SQLite (naive UTC)."""
    return (datetime(day.year, day.month, day.day, 13) + timedelta(seconds=seconds)).strftime("%Y-%m-%d %H:%M:%S.%f")


def iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def build_schema(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    ledger = open_ledger(Settings(home=path.parent, database_url=f"sqlite:///{path}"), create=True)
    ledger.dispose()


def generate(out: Path, *, districts: int, vendors: int, years: int, seed: int, today: date) -> dict:
    t0 = time.perf_counter()
    rng = random.Random(seed)
    cal = StateCalendar()
    current = SchoolYear.of(today)
    first_year = current.start - years + 1
    build_schema(out)
    db = sqlite3.connect(out, isolation_level=None)
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-200000")
    db.execute("BEGIN")
    counts: dict[str, int] = {}

    def put(table: str, columns: str, rows: list[tuple]) -> None:
        marks = ",".join("?" * len(columns.split(",")))
        db.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)
        counts[table] = counts.get(table, 0) + len(rows)

    onboard = ts(date(first_year - 1, 4, 1), 0)
    vendor_rows = [(i + 1, *VENDORS[i % len(VENDORS)], onboard) for i in range(vendors)]
    vendor_rows = [
        (vid, name if vid <= len(VENDORS) else f"{name} {vid}", n, e, c) for vid, name, n, e, c in vendor_rows
    ]
    put("vendor", "id,name,onboarding_name,onboarding_email,created_at", vendor_rows)

    # districts, contacts, and the roster file that describes them
    codes = lea_codes(districts)
    district_rows, contact_rows, roster_rows = [], [], []
    for did, code in enumerate(codes, start=1):
        name = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {'CHARTER' if code.endswith('700') else 'SCHOOL'} DISTRICT"
        county = f"County {code[:2]}"
        district_rows.append((did, code, name, county, "bench", onboard, onboard))
        for k in range(rng.choice((1, 1, 2, 2, 2, 3))):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            email = f"{first}.{last}{k}@{code}.k12.example".lower()
            role = rng.choice(ROLES)
            contact_rows.append((did, f"{first} {last}", email, role))
            roster_rows.append((code, name, county, f"{first} {last}", email, role))
    put("district", "id,lea_code,name,county,source,created_at,updated_at", district_rows)
    put("contact", "district_id,name,email,role", contact_rows)
    with (out.parent / "roster.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(("lea_code", "name", "county", "contact_name", "contact_email", "contact_role"))
        w.writerows(roster_rows)

    events: list[tuple] = [
        (
            ts(date(first_year - 1, 4, 1), 0),
            None,
            "district_added",
            did,
            None,
            None,
            "coordinator",
            "from roster.csv",
            None,
        )
        for did, *_ in district_rows
    ]
    events.append(
        (
            ts(date(first_year - 1, 4, 1), 1),
            None,
            "roster_imported",
            None,
            None,
            None,
            "coordinator",
            f"roster.csv: {len(district_rows)} added, 0 updated, {len(contact_rows)} contacts added",
            None,
        )
    )

    # connections: (id, district, vendor, method, created year, retired_on)
    connections = []
    cid = 0
    for did in range(1, len(codes) + 1):
        for vid in range(1, vendors + 1):
            cid += 1
            sftp = rng.random() < 0.03
            created_year = first_year if rng.random() < 0.92 else rng.randint(first_year + 1, current.start)
            created_on = cal.on_or_after(date(created_year, 4, 1) + timedelta(days=rng.randint(0, 60)))
            retired_on = None
            if rng.random() < 0.02:
                retired_on = cal.on_or_after(date(rng.randint(created_year, current.start), 9, 1))
                if retired_on > today:
                    retired_on = None
            connections.append((cid, did, vid, "sftp" if sftp else "api", created_on, retired_on))
    put(
        "connection",
        "id,district_id,vendor_id,method,course_planning,retired_on,created_on",
        [(c, d, v, m, int(m == "sftp"), iso(r), iso(cr)) for c, d, v, m, cr, r in connections],
    )
    for c, d, v, m, cr, r in connections:
        events.append((ts(cr, c % 3600), iso(cr), "connected", d, v, None, "coordinator", None, f'{{"method": "{m}"}}'))
        if r is not None:
            events.append((ts(r, c % 3600), iso(r), "retired", d, v, None, "coordinator", "district stopped", None))
    events.sort(key=lambda e: e[0])
    put("event", "at,effective_on,kind,district_id,vendor_id,school_year,actor,note,data", events)

    add = cal.add_working_days
    rid = 0
    outbox_from = current.start - 2
    for y in range(first_year, current.start + 1):
        sy = SchoolYear(y)
        is_current = y == current.start
        renewals, events, outbox = [], [], []
        for c, d, v, m, cr, r in connections:
            if m != "api" or cr > sy.ends or (r is not None and r < sy.begins):
                continue
            if rng.random() < 0.03:
                continue  # never requested this year
            u = rng.random()
            if u < 0.55:
                day = date(y, 5, 1) + timedelta(days=rng.randint(0, 60))
            elif u < 0.90:
                day = date(y, 7, 1) + timedelta(days=rng.randint(0, 61))
            else:
                day = date(y, 9, 1) + timedelta(days=rng.randint(0, 105))
            req = cal.on_or_after(max(day, cr))
            if req > today or (r is not None and req > r):
                continue
            expected = add(req, 10)
            ena = add(req, min(20, max(5, round(rng.gauss(9, 3))))) if rng.random() < 0.97 else None
            if ena is not None and (ena > today or ena > sy.ends or (r is not None and ena > r)):
                ena = None
            conf = add(ena, rng.randint(1, 7)) if ena is not None and rng.random() < 0.92 else None
            if conf is not None and (conf > today or conf > sy.ends):
                conf = None
            disc = sy.ends if not is_current else None
            rid += 1
            renewals.append((rid, c, y, iso(req), iso(expected), iso(ena), iso(conf), iso(disc)))
            actor = ACTORS[d % len(ACTORS)]
            sec = rid % 7200
            events.append(
                (
                    ts(req, sec),
                    iso(req),
                    "requested",
                    d,
                    v,
                    y,
                    actor,
                    None,
                    f'{{"expected_enabled_by": "{expected.isoformat()}"}}',
                )
            )
            if ena is not None:
                events.append((ts(ena, sec), iso(ena), "enabled", d, v, y, actor, None, None))
            if conf is not None:
                events.append((ts(conf, sec), iso(conf), "confirmed", d, v, y, actor, None, None))
            if disc is not None:
                events.append(
                    (
                        ts(disc + timedelta(days=1), sec),
                        iso(disc),
                        "disconnected",
                        d,
                        v,
                        y,
                        "scheduler",
                        "annual June 30 disconnect",
                        None,
                    )
                )
            if outbox_from <= y < current.start:
                if req > sy.begins:
                    outbox.append(_mail("lapsed_notice", c, d, v, y, sy.begins, codes[d - 1]))
                if ena is None or ena > expected:
                    outbox.append(_mail("activation_overdue", c, d, v, y, add(expected, 1), codes[d - 1]))
        events.sort(key=lambda e: e[0])
        put(
            "renewal",
            "id,connection_id,school_year,requested_on,expected_enabled_by,enabled_on,confirmed_on,disconnected_on",
            renewals,
        )
        put("event", "at,effective_on,kind,district_id,vendor_id,school_year,actor,note,data", events)
        if outbox:
            put(
                "outbox",
                "key,kind,district_id,vendor_id,school_year,to_addrs,cc_addrs,subject,body_text,body_html,"
                "message_id,status,attempts,next_attempt_at,created_at,sent_at",
                outbox,
            )
    db.execute("COMMIT")
    db.execute("PRAGMA journal_mode=WAL")
    db.close()
    meta = {
        "scale": {"districts": districts, "vendors": vendors, "years": years},
        "seed": seed,
        "today": today.isoformat(),
        "current_year": current.label,
        "first_year": SchoolYear(first_year).label,
        "sample_lea": codes[len(codes) // 2],
        "rows": counts,
        "connection_years": len(connections) * years,
        "seconds": round(time.perf_counter() - t0, 1),
        "bytes": out.stat().st_size,
    }
    Path(f"{out}.meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return meta


def _mail(kind: str, c: int, d: int, v: int, y: int, milestone: date, lea: str) -> tuple:
    key = f"{kind}:{c}:{y}:{milestone.isoformat()}"
    subject = f"APSCN API connection {SchoolYear(y).label}: {kind.replace('_', ' ')} ({lea})"
    text = (
        f"Hello,\n\nThe APSCN eSchoolPLUS API connection of district {lea} for {SchoolYear(y).label} needs your "
        "attention: see the steps below.\n\n1. Submit the APSCN: eSchoolPLUS API Request form.\n2. Wait for the "
        "state to enable the connection (about 10 working days).\n3. Send the details to the Onboarding Manager.\n"
    )
    html = "<html><body>" + text.replace("\n\n", "</p><p>").replace("\n", "<br>") + "</body></html>"
    sent = ts(milestone, 3600)
    return (
        key,
        kind,
        d,
        v,
        y,
        f"contact@{lea}.k12.example",
        "coordinator@state.example",
        subject,
        text,
        html,
        f"<{key.replace(':', '.')}@apscn-tracker>",
        "sent",
        1,
        sent,
        sent,
        sent,
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--districts", type=int, default=13_000)
    p.add_argument("--vendors", type=int, default=5)
    p.add_argument("--years", type=int, default=10)
    p.add_argument("--seed", type=int, default=20260630)
    p.add_argument("--today", type=date.fromisoformat, default=TODAY, help="the day the ledger is 'as of'")
    p.add_argument("--out", type=Path, required=True, help="the SQLite file to write (replaced)")
    p.add_argument("--empty", action="store_true", help="only the migrated, empty schema")
    a = p.parse_args(argv)
    if a.empty:
        build_schema(a.out)
        return 0
    meta = generate(a.out, districts=a.districts, vendors=a.vendors, years=a.years, seed=a.seed, today=a.today)
    print(json.dumps(meta, indent=2), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
