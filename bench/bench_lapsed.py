"""Lapsed notices per connection per school year: the rules before the year-end change against the rules now.

A connection with no request all year is ticked every day from July 1 (and, for the "worst start" column, from
every day of the year in turn); each distinct reminder key is one email. "Before" runs the reminder module as it
was at ``BEFORE`` (read from git), "after" the module of this checkout, both with the default rules.

    python bench/bench_lapsed.py [--before REV]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import types
from datetime import date, timedelta
from pathlib import Path

from apscn_tracker.config import ReminderRules
from apscn_tracker.domain import reminders as after
from apscn_tracker.domain.schoolyear import SchoolYear
from apscn_tracker.domain.workdays import StateCalendar
from apscn_tracker.domain.yearchoice import cut_day

BEFORE = "7f70871"  # the rules before the year-end change (weekly lapsed notices all year)


def old_module(rev: str) -> types.ModuleType:
    root = Path(__file__).resolve().parent.parent
    show = ["git", "show", f"{rev}:apscn_tracker/domain/reminders.py"]
    source = subprocess.run(show, cwd=root, capture_output=True, text=True, check=True).stdout
    module = types.ModuleType("reminders_before")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, "reminders_before.py", "exec"), module.__dict__)
    return module


def count(module: types.ModuleType, year: SchoolYear, start: date, cal: StateCalendar, rules: ReminderRules) -> int:
    snap = module.Snapshot(connection_id=1, school_year=year)
    keys, day = set(), start
    while day <= year.ends:
        for due in module.due_reminders(snap, today=day, calendar=cal, rules=rules):
            if due.kind == "lapsed_notice":
                keys.add(due.key)
        day += timedelta(days=1)
    return len(keys)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=BEFORE)
    args = parser.parse_args()
    before = old_module(args.before)
    cal, rules = StateCalendar(), ReminderRules()
    print("| school year | cut | before (daily ticks) | after (daily ticks) | after, worst start day |")
    print("| --- | --- | ---: | ---: | ---: |")
    for start in range(2024, 2037):
        year = SchoolYear(start)
        old = count(before, year, year.begins, cal, rules)
        new = count(after, year, year.begins, cal, rules)
        worst = max(count(after, year, year.begins + timedelta(days=k), cal, rules) for k in range(0, 365, 5))
        print(f"| {year} | {cut_day(year, cal, 10)} | {old} | {new} | {worst} |")


if __name__ == "__main__":
    main()
