"""Roster import with many contacts in one district: the contact de-duplication must stay linear.

Run: ``python bench/bench_roster_contacts.py [--sizes 10000,20000,40000]``. For each size, a roster CSV with one
district and that many distinct contacts (one row each, plus a few repeated rows) is parsed, then imported into
a fresh SQLite ledger in a temporary APSCN_HOME; the times of the parse and of the whole import are printed.
Linear means the time per contact stays about the same as the size doubles.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from apscn_tracker.config import load_settings
from apscn_tracker.domain.roster import parse_roster
from apscn_tracker.services.app import App
from apscn_tracker.services.roster import import_roster

REPEATED = 100  # rows naming a contact already listed: each must be noticed, not imported twice


def roster_csv(contacts: int) -> bytes:
    lines = ["lea_code,name,county,contact_name,contact_email,contact_role"]
    for i in range(contacts):
        lines.append(f"6001000,LITTLE ROCK SCHOOL DISTRICT,PULASKI,Person {i},person{i}@lrsd.k12.ar.us,Staff")
    for i in range(REPEATED):
        lines.append(f"6001000,LITTLE ROCK SCHOOL DISTRICT,PULASKI,Person {i},person{i}@lrsd.k12.ar.us,Staff")
    return ("\n".join(lines) + "\n").encode()


def measure(contacts: int, workdir: Path) -> tuple[float, float]:
    data = roster_csv(contacts)
    t0 = time.perf_counter()
    roster = parse_roster(data)
    parse = time.perf_counter() - t0
    assert len(roster.districts[0].contacts) == contacts and len(roster.warnings) == REPEATED
    home = workdir / f"home-{contacts}"
    home.mkdir()
    csv_path = workdir / f"roster-{contacts}.csv"
    csv_path.write_bytes(data)
    app = App(load_settings(env={**os.environ, "APSCN_HOME": str(home)}))
    try:
        app.create_ledger()  # create and migrate the ledger outside the timing
        t0 = time.perf_counter()
        summary = import_roster(app, path=csv_path)
        total = time.perf_counter() - t0
    finally:
        app.close()
    assert summary["contacts_added"] == contacts, summary
    return parse, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,20000,40000", help="contact counts, comma-separated")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{'contacts':>9} {'parse s':>9} {'import s':>9} {'import us/contact':>18}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            parse, total = measure(n, Path(tmp))
            print(f"{n:>9,} {parse:>9.2f} {total:>9.2f} {total / n * 1e6:>18.1f}")


if __name__ == "__main__":
    main()
