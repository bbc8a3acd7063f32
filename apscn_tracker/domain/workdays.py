"""Arkansas state-office working days (Ark. Code Ann. § 1-5-101).

Holidays of state offices, computed from the statute's rules for any year (no table of dates):

- New Year's Day, January 1
- Dr. Martin Luther King Jr.'s Birthday, third Monday in January
- George Washington's Birthday and Daisy Gatson Bates Day, third Monday in February
- Memorial Day, last Monday in May
- Independence Day, July 4
- Labor Day, first Monday in September
- Veterans Day, November 11
- Thanksgiving Day, fourth Thursday in November
- Christmas Eve, December 24
- Christmas Day, December 25

Weekend shift: a holiday on a Saturday is observed the Friday before, one on a Sunday the Monday after. A
shift can cross a year boundary (January 1, 2028 is a Saturday, observed Friday December 31, 2027), so the
holidays observed in a calendar year come from the rules of that year and of its neighbours.

Not holidays here: Juneteenth and Robert E. Lee Day (memorial days), Columbus Day, the day after Thanksgiving,
and employees' birthdays (paid, but no office closure).

Collisions. When two holidays land on one observed date after the weekend shift the statute is silent. The
holiday listed later in the statute (the one with the later statutory date) keeps the observed date, and the
collision policy moves the other one:

- ``"before"`` (default): to the closest working day before the shared date;
- ``"after"``: to the closest working day after it.

In practice only Christmas Eve and Christmas Day collide: in 2027 (Fri Dec 24 / Sat Dec 25) Christmas Day is
observed Fri Dec 24 and Christmas Eve Thu Dec 23 ("before") or Mon Dec 27 ("after"); in 2028 (Sun Dec 24 /
Mon Dec 25) Christmas Day is observed Mon Dec 25 and Christmas Eve Fri Dec 22 ("before") or Tue Dec 26
("after"). The move skips weekends and the other statute holidays, not proclaimed closures.

Configuration (§ 1-5-103, the Governor's proclamations): ``extra_closures`` are additional non-working days
(listed as "Closure (proclamation)" unless the date already is a statute holiday); ``removed_closures`` are
observed dates of statute holidays that are working days after all. Removing a date only removes a statute
holiday: a weekend stays non-working, and a date that is no holiday is ignored. A date cannot be both added
and removed.

Counting conventions. ``add_working_days(start, n)`` counts from ``start`` as day 0 whether or not ``start``
is a working day: for ``n > 0`` the n-th working day strictly after it, for ``n < 0`` the |n|-th strictly
before it. ``working_days_between(start, end)`` counts working days ``d`` with ``start < d <= end`` (negated
when ``end < start``), so ``working_days_between(s, add_working_days(s, n)) == n`` for ``n >= 0``, and for
``n < 0`` when ``s`` is a working day.

Performance: per calendar year, each instance caches the sorted ordinals of its working days, and a running
count of working days per year from a fixed anchor year; the arithmetic is a bisect in one year's tuple, plus
a walk over whole years (never over days) when a span leaves that year.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, date, timedelta

from dateutil.relativedelta import MO, TH, relativedelta

__all__ = [
    "ACTIVATION_WORKING_DAYS",
    "CLOSURE_NAME",
    "COLLISION_POLICIES",
    "Holiday",
    "StateCalendar",
    "expected_enabled_by",
    "request_by",
]

ACTIVATION_WORKING_DAYS = 10
"""Working days the state takes to enable a requested API connection."""

CLOSURE_NAME = "Closure (proclamation)"
COLLISION_POLICIES = ("before", "after")

_ANCHOR_YEAR = 2000  # running working-day counts are relative to Jan 1 of this year


@dataclass(frozen=True)
class Holiday:
    """An observed non-working day: ``day`` is when offices close, ``actual`` the statutory date."""

    day: date
    name: str
    actual: date


def _fixed(month: int, day: int) -> Callable[[int], date]:
    return lambda year: date(year, month, day)


def _nth(month: int, weekday: relativedelta) -> Callable[[int], date]:
    # weekday(+n) from the 1st of the month is the n-th such weekday; weekday(-1) from the 31st the last one.
    first = 31 if weekday.n < 0 else 1
    return lambda year: date(year, month, first) + relativedelta(weekday=weekday)


# In statute order: on a collision the later-listed holiday keeps the observed date.
_RULES: tuple[tuple[str, Callable[[int], date]], ...] = (
    ("New Year's Day", _fixed(1, 1)),
    ("Dr. Martin Luther King Jr.'s Birthday", _nth(1, MO(3))),
    ("George Washington's Birthday and Daisy Gatson Bates Day", _nth(2, MO(3))),
    ("Memorial Day", _nth(5, MO(-1))),
    ("Independence Day", _fixed(7, 4)),
    ("Labor Day", _nth(9, MO(1))),
    ("Veterans Day", _fixed(11, 11)),
    ("Thanksgiving Day", _nth(11, TH(4))),
    ("Christmas Eve", _fixed(12, 24)),
    ("Christmas Day", _fixed(12, 25)),
)

_ONE_DAY = timedelta(days=1)


def _is_weekend(ordinal: int) -> bool:
    # date.fromordinal(1) is Monday, January 1 of year 1.
    return (ordinal - 1) % 7 >= 5


def _weekend_shift(day: date) -> date:
    wd = day.weekday()
    if wd == 5:
        return day - _ONE_DAY
    if wd == 6:
        return day + _ONE_DAY
    return day


def _statute_holidays(year: int, policy: str) -> list[Holiday]:
    """The observed holidays of one statutory year (some may fall in a neighbouring calendar year)."""
    actuals = [(name, rule(year)) for name, rule in _RULES]
    shifted = [(name, actual, _weekend_shift(actual)) for name, actual in actuals]
    blocked = {day for _, _, day in shifted}
    step = -_ONE_DAY if policy == "before" else _ONE_DAY
    taken: set[date] = set()
    placed: list[Holiday] = []
    for name, actual, day in reversed(shifted):  # later-listed first: it keeps its date
        if day in taken:
            day += step
            while day.weekday() >= 5 or day in blocked:
                day += step
        taken.add(day)
        blocked.add(day)
        placed.append(Holiday(day, name, actual))
    return placed


def _check_year(year: int) -> None:
    if not MINYEAR <= year <= MAXYEAR:
        raise OverflowError("date value out of range")


class StateCalendar:
    """Working days of Arkansas state offices; immutable, with per-instance caches."""

    __slots__ = (
        "_policy",
        "_extra",
        "_removed",
        "_extra_by_year",
        "_removed_by_year",
        "_statute_cache",
        "_holiday_cache",
        "_closed_cache",
        "_days_cache",
        "_cum_cache",
    )

    def __init__(
        self,
        extra_closures: Iterable[date] = (),
        removed_closures: Iterable[date] = (),
        collision_policy: str = "before",
    ) -> None:
        if collision_policy not in COLLISION_POLICIES:
            raise ValueError(
                f"collision_policy must be one of {', '.join(COLLISION_POLICIES)}, not {collision_policy!r}"
            )
        extra = frozenset(_as_date(d, "extra_closures") for d in extra_closures)
        removed = frozenset(_as_date(d, "removed_closures") for d in removed_closures)
        both = extra & removed
        if both:
            listed = ", ".join(d.isoformat() for d in sorted(both))
            raise ValueError(f"dates both added and removed as closures: {listed}")
        self._policy = collision_policy
        self._extra = extra
        self._removed = removed
        self._extra_by_year: dict[int, set[date]] = {}
        for d in extra:
            self._extra_by_year.setdefault(d.year, set()).add(d)
        self._removed_by_year: dict[int, set[date]] = {}
        for d in removed:
            self._removed_by_year.setdefault(d.year, set()).add(d)
        self._statute_cache: dict[int, list[Holiday]] = {}
        self._holiday_cache: dict[int, tuple[Holiday, ...]] = {}
        self._closed_cache: dict[int, dict[int, str]] = {}
        self._days_cache: dict[int, tuple[int, ...]] = {}
        self._cum_cache: dict[int, int] = {_ANCHOR_YEAR: 0}

    # -- configuration -------------------------------------------------------------------------------------

    @property
    def collision_policy(self) -> str:
        return self._policy

    @property
    def extra_closures(self) -> frozenset[date]:
        return self._extra

    @property
    def removed_closures(self) -> frozenset[date]:
        return self._removed

    def __repr__(self) -> str:
        return (
            f"StateCalendar(extra_closures={sorted(self._extra)!r}, "
            f"removed_closures={sorted(self._removed)!r}, collision_policy={self._policy!r})"
        )

    # -- holidays ------------------------------------------------------------------------------------------

    def holidays(self, year: int) -> list[Holiday]:
        """Observed holidays and proclaimed closures in calendar year ``year``, sorted by day."""
        return list(self._year_holidays(year))

    def holiday_name(self, d: date) -> str | None:
        """The holiday or closure observed on ``d``; None on a working day or a plain weekend."""
        return self._closed(d.year).get(d.toordinal())

    def is_working_day(self, d: date) -> bool:
        o = d.toordinal()
        return not _is_weekend(o) and o not in self._closed(d.year)

    # -- arithmetic ----------------------------------------------------------------------------------------

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after ``start`` (n > 0), the |n|-th before it (n < 0), ``start`` (n == 0)."""
        if n == 0:
            return start
        year = start.year
        days = self._days_cache.get(year)
        if days is None:
            days = self._days(year)
        if n > 0:
            i = bisect_right(days, start.toordinal()) + n - 1
        else:
            i = bisect_left(days, start.toordinal()) + n
        if 0 <= i < len(days):
            return date.fromordinal(days[i])
        while i >= len(days):
            i -= len(days)
            year += 1
            days = self._days(year)
        while i < 0:
            year -= 1
            days = self._days(year)
            i += len(days)
        return date.fromordinal(days[i])

    def working_days_between(self, start: date, end: date) -> int:
        """Working days d with start < d <= end; the negative of the reverse count when end < start."""
        if end < start:
            return -self.working_days_between(end, start)
        ys, ye = start.year, end.year
        ds = self._days_cache.get(ys)
        if ds is None:
            ds = self._days(ys)
        if ys == ye:
            return bisect_right(ds, end.toordinal()) - bisect_right(ds, start.toordinal())
        de = self._days(ye)
        return self._cum(ye) + bisect_right(de, end.toordinal()) - self._cum(ys) - bisect_right(ds, start.toordinal())

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after ``d``."""
        return self.add_working_days(d, 1)

    def previous_working_day(self, d: date) -> date:
        """The last working day strictly before ``d``."""
        return self.add_working_days(d, -1)

    def on_or_after(self, d: date) -> date:
        """``d`` if it is a working day, else the next working day."""
        return d if self.is_working_day(d) else self.add_working_days(d, 1)

    # -- caches --------------------------------------------------------------------------------------------

    def _statute(self, year: int) -> list[Holiday]:
        got = self._statute_cache.get(year)
        if got is None:
            got = _statute_holidays(year, self._policy)
            self._statute_cache[year] = got
        return got

    def _year_holidays(self, year: int) -> tuple[Holiday, ...]:
        got = self._holiday_cache.get(year)
        if got is not None:
            return got
        _check_year(year)
        removed = self._removed_by_year.get(year, set())
        found: dict[date, Holiday] = {}
        for sy in (year - 1, year, year + 1):
            if not MINYEAR <= sy <= MAXYEAR:
                continue
            for h in self._statute(sy):
                if h.day.year == year and h.day not in removed:
                    found[h.day] = h
        for d in self._extra_by_year.get(year, ()):
            if d not in found:
                found[d] = Holiday(d, CLOSURE_NAME, d)
        got = tuple(sorted(found.values(), key=lambda h: h.day))
        self._holiday_cache[year] = got
        return got

    def _closed(self, year: int) -> dict[int, str]:
        got = self._closed_cache.get(year)
        if got is None:
            got = {h.day.toordinal(): h.name for h in self._year_holidays(year)}
            self._closed_cache[year] = got
        return got

    def _days(self, year: int) -> tuple[int, ...]:
        """Sorted ordinals of the working days of ``year``."""
        got = self._days_cache.get(year)
        if got is None:
            closed = self._closed(year)
            first = date(year, 1, 1).toordinal()
            last = date(year, 12, 31).toordinal()
            got = tuple(o for o in range(first, last + 1) if (o - 1) % 7 < 5 and o not in closed)
            self._days_cache[year] = got
        return got

    def _cum(self, year: int) -> int:
        """Working days from Jan 1 of the anchor year to Jan 1 of ``year`` (negative before the anchor)."""
        cache = self._cum_cache
        got = cache.get(year)
        if got is not None:
            return got
        _check_year(year)
        if year > _ANCHOR_YEAR:
            k = year - 1
            while k not in cache:
                k -= 1
            total = cache[k]
            while k < year:
                total += len(self._days(k))
                k += 1
                cache[k] = total
        else:
            k = year + 1
            while k not in cache:
                k += 1
            total = cache[k]
            while k > year:
                k -= 1
                total -= len(self._days(k))
                cache[k] = total
        return total


def _as_date(value: object, what: str) -> date:
    if not isinstance(value, date):
        raise TypeError(f"{what}: expected dates, got {value!r}")
    # A datetime is a date too; keep only its date so that lookups by date match.
    return date(value.year, value.month, value.day)


def expected_enabled_by(cal: StateCalendar, requested_on: date, window: int = ACTIVATION_WORKING_DAYS) -> date:
    """When a connection requested on ``requested_on`` should be enabled: ``window`` working days later."""
    return cal.add_working_days(requested_on, window)


def request_by(cal: StateCalendar, school_year_end: date, window: int = ACTIVATION_WORKING_DAYS) -> date:
    """The recommended "request by" date: ``window`` working days before the June 30 disconnect."""
    return cal.add_working_days(school_year_end, -window)
