"""Micro benchmark: StateCalendar.add_working_days against numpy.busday_offset, one call per date.

Run: ``python bench/bench_calendar.py`` (numpy is optional; without it only the calendar is timed).
Both sides get the same holidays and must agree on every answer.
"""

from __future__ import annotations

import random
import time
from datetime import date, timedelta

from apscn_tracker.domain.workdays import StateCalendar

CALLS = 10_000
FIRST, LAST = date(2000, 1, 1), date(2100, 12, 31)


def cases(seed: int = 20260630) -> list[tuple[date, int]]:
    rng = random.Random(seed)
    span = (LAST - FIRST).days
    out = []
    for _ in range(CALLS):
        n = rng.randint(-400, 400) or 1
        out.append((FIRST + timedelta(days=rng.randint(0, span)), n))
    return out


def time_calendar(cal: StateCalendar, work: list[tuple[date, int]]) -> tuple[float, list[date]]:
    add = cal.add_working_days
    t0 = time.perf_counter()
    results = [add(d, n) for d, n in work]
    return time.perf_counter() - t0, results


def main() -> None:
    work = cases()
    cold, _ = time_calendar(StateCalendar(), work)
    cal = StateCalendar()
    time_calendar(cal, work)  # fill the per-year caches
    warm, ours = time_calendar(cal, work)
    print(f"StateCalendar.add_working_days, cold caches: {cold / CALLS * 1e6:7.3f} us/call")
    print(f"StateCalendar.add_working_days, warm caches: {warm / CALLS * 1e6:7.3f} us/call")

    try:
        import numpy as np
    except ImportError:
        print("numpy is not installed: numpy.busday_offset not timed")
        return

    holidays = [h.day for y in range(FIRST.year - 2, LAST.year + 3) for h in cal.holidays(y)]
    busdays = np.busdaycalendar(weekmask="1111100", holidays=np.array(holidays, dtype="datetime64[D]"))
    offset = np.busday_offset
    # roll backward then count forward (or forward, then back) == counting from start as day 0.
    args = [(np.datetime64(d, "D"), n, "backward" if n > 0 else "forward") for d, n in work]
    t0 = time.perf_counter()
    theirs = [offset(d, n, roll=roll, busdaycal=busdays) for d, n, roll in args]
    numpy_time = time.perf_counter() - t0
    print(f"numpy.busday_offset per call:                {numpy_time / CALLS * 1e6:7.3f} us/call")
    mismatches = sum(a != b.astype(date) for a, b in zip(ours, theirs, strict=True))
    print(f"answers that differ: {mismatches}; calendar is {numpy_time / warm:.1f}x numpy (warm)")


if __name__ == "__main__":
    main()
