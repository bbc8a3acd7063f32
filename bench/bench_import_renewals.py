"""`apscn import-renewals` of 7,000 rows next to plain `sqlite3` doing the same work (target: within 3x).

Run: ``python bench/bench_import_renewals.py [--rows 7000] [--repeat 3]``. A ledger with that many districts,
each connected to Xello by API, is built once; each run starts from a fresh copy of it. The project side is
``import_renewals`` (read the file, check every row through the step rules, one transaction). The baseline,
with the standard library only, reads the same CSV, looks each row's district and connection up in dicts, checks
the dates (in order, not after today), computes the expected enable date with the same state calendar, and
inserts the same renewal and event rows with ``executemany`` in one transaction. Each run is timed from the
file read to the commit; the ledger is opened (and migrated) before the clock starts on both sides.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from apscn_tracker.config import load_settings
from apscn_tracker.domain.schoolyear import SchoolYear
from apscn_tracker.domain.workdays import StateCalendar, expected_enabled_by
from apscn_tracker.services import connections
from apscn_tracker.services.app import App
from apscn_tracker.services.renewal_import import import_renewals
from apscn_tracker.services.roster import import_roster
from apscn_tracker.services.vendors import ensure_xello

TODAY = date(2026, 9, 14)
YEAR = SchoolYear(2026)
REQ, ENA, CONF = date(2026, 6, 2), date(2026, 6, 15), date(2026, 6, 17)


def codes(n: int) -> list[str]:
    return [f"{c:02d}{d:02d}{s}" for s in ("000", "700") for c in range(1, 76) for d in range(1, 100)][:n]


def app_on(home: Path) -> App:
    return App(load_settings(env={**os.environ, "APSCN_HOME": str(home)}), today=TODAY, actor="bench")


def build(work: Path, n: int) -> tuple[Path, Path]:
    home = work / "template"
    home.mkdir()
    roster = work / "roster.csv"
    roster.write_text("lea_code,name\n" + "".join(f"{c},District {c}\n" for c in codes(n)), encoding="utf-8")
    app = app_on(home)
    ensure_xello(app)
    import_roster(app, path=roster)
    connections.connect(app, lea=None, vendor="Xello", method="api", all_districts=True)
    app.close()
    sheet = work / "renewals.csv"
    with sheet.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["lea_code", "vendor", "school_year", "requested_on", "enabled_on", "confirmed_on", "note"])
        for c in codes(n):
            w.writerow([c, "Xello", YEAR.label, REQ, ENA, CONF, ""])
    return home, sheet


def fresh(template: Path, work: Path, name: str) -> Path:
    home = work / name
    shutil.copytree(template, home)
    return home


def project(home: Path, sheet: Path) -> float:
    app = app_on(home)
    app.ledger  # noqa: B018 - opened before the clock
    t0 = time.perf_counter()
    result = import_renewals(app, path=sheet)
    took = time.perf_counter() - t0
    app.close()
    assert result["steps"]["confirmed"] == result["rows"], result
    return took


def baseline(home: Path, sheet: Path) -> float:
    db = sqlite3.connect(home / "apscn.db", isolation_level=None)
    db.execute("PRAGMA foreign_keys = ON")
    cal = StateCalendar()
    t0 = time.perf_counter()
    districts = dict(db.execute("SELECT lea_code, id FROM district"))
    vendors = {name.lower(): vid for vid, name in db.execute("SELECT id, name FROM vendor")}
    conns = {(d, v): cid for cid, d, v in db.execute("SELECT id, district_id, vendor_id FROM connection")}
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    renewals, events = [], []
    with sheet.open(newline="", encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            did, vid = districts[row["lea_code"]], vendors[row["vendor"].lower()]
            start = int(row["school_year"][:4])
            req, ena, conf = (date.fromisoformat(row[k]) for k in ("requested_on", "enabled_on", "confirmed_on"))
            if not (req <= ena <= conf <= TODAY):
                raise ValueError(row)
            exp = expected_enabled_by(cal, req, 10)
            renewals.append((conns[(did, vid)], start, req, exp, ena, conf))
            note = f"from {sheet.name}"
            data = json.dumps({"expected_enabled_by": exp.isoformat()})
            events += [
                (now, req, "requested", did, vid, start, "bench", note, data),
                (now, ena, "enabled", did, vid, start, "bench", note, None),
                (now, conf, "confirmed", did, vid, start, "bench", note, None),
            ]
    db.execute("BEGIN IMMEDIATE")
    db.executemany(
        "INSERT INTO renewal (connection_id, school_year, requested_on, expected_enabled_by, enabled_on, "
        "confirmed_on) VALUES (?, ?, ?, ?, ?, ?)",
        [(c, y, str(r), str(x), str(e), str(f)) for c, y, r, x, e, f in renewals],
    )
    db.executemany(
        "INSERT INTO event (at, effective_on, kind, district_id, vendor_id, school_year, actor, note, data) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(a, str(on), *rest) for a, on, *rest in events],
    )
    db.execute("COMMIT")
    took = time.perf_counter() - t0
    db.close()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=7000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        template, sheet = build(work, args.rows)
        print(f"ledger of {args.rows} connected districts built in {time.perf_counter() - t0:.1f} s")
        times: dict[str, list[float]] = {"project": [], "baseline": []}
        for i in range(args.repeat):  # interleaved, each on its own copy
            times["project"].append(project(fresh(template, work, f"p{i}"), sheet))
            times["baseline"].append(baseline(fresh(template, work, f"b{i}"), sheet))
    p, b = statistics.median(times["project"]), statistics.median(times["baseline"])
    print("| operation | rows | project (median) | plain sqlite3 (median) | ratio |")
    print("| --- | --- | --- | --- | --- |")
    print(f"| import-renewals | {args.rows:,} | {p:.3f} s | {b:.3f} s | {p / b:.2f}x |")


if __name__ == "__main__":
    main()
