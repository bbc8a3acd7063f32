"""School years: July 1 to June 30, labelled ``2026-27``; and the one reading of the words every ``--year`` takes."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from apscn_tracker.errors import InputError

_LABEL = re.compile(r"^\s*(\d{4})\s*[-/]\s*(\d{2}|\d{4})\s*$", re.ASCII)  # ASCII digits only


class SchoolYearError(InputError):
    """A school year that cannot be read, or that the command does not take; the message says why."""


@dataclass(frozen=True, order=True, slots=True)
class SchoolYear:
    """The school year that begins on July 1 of ``start``."""

    start: int

    @classmethod
    def of(cls, day: date) -> SchoolYear:
        return cls(day.year if day.month >= 7 else day.year - 1)

    @classmethod
    def parse(cls, text: str) -> SchoolYear:
        """Accept ``2026-27`` and ``2026-2027`` (the end year must follow the start year)."""
        m = _LABEL.match(text or "")
        if not m:
            raise SchoolYearError(f"school year {text!r} is not like 2026-27 or 2026-2027")
        start = int(m.group(1))
        end_text = m.group(2)
        end = int(end_text) if len(end_text) == 4 else (start + 1) // 100 * 100 + int(end_text)
        if end != start + 1:
            raise SchoolYearError(f"school year {text!r}: the end year must be the year after {start}")
        if not 1990 <= start <= 2200:
            raise SchoolYearError(f"school year {text!r} is out of range")
        return cls(start)

    @property
    def label(self) -> str:
        return f"{self.start}-{(self.start + 1) % 100:02d}"

    @property
    def begins(self) -> date:
        return date(self.start, 7, 1)

    @property
    def ends(self) -> date:
        """June 30: the annual API disconnect."""
        return date(self.start + 1, 6, 30)

    @property
    def next(self) -> SchoolYear:
        return SchoolYear(self.start + 1)

    @property
    def previous(self) -> SchoolYear:
        return SchoolYear(self.start - 1)

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.begins <= day <= self.ends

    def __str__(self) -> str:
        return self.label


ALL = "all"
WORDS = ("current", "previous", "next")
"""The school years named relative to today (``last`` is read as ``previous``)."""
_RELATIVE = {"current": 0, "previous": -1, "last": -1, "next": 1}


def parse_year(text: str | None, today: date, *, default: SchoolYear | None = None) -> SchoolYear:
    """The school year named by ``text``, the way every command's ``--year`` takes it: ``current``,
    ``previous`` or ``next`` (relative to the school year of ``today``), or a label ``2026-27`` or
    ``2026-2027``. No text: ``default``, else the current school year. ``all`` names no single year: refused
    here, read by ``parse_years`` where a listing takes it."""
    current = SchoolYear.of(today)
    word = (text or "").strip().lower()
    if not word:
        return default or current
    if word in _RELATIVE:
        return SchoolYear(current.start + _RELATIVE[word])
    if word == ALL:
        raise SchoolYearError(
            "--year all is for listings; this command takes one school year: current, previous, next "
            "or a label like 2026-27"
        )
    return SchoolYear.parse(text or "")


def parse_years(text: str | None, today: date, *, on_record: Callable[[], Iterable[int]]) -> list[SchoolYear]:
    """The school years a listing shows: ``all`` is every year ``on_record`` gives (the starts of the years
    the ledger holds; called only for ``all``) plus the current one and the one before it (last year always
    shows, rows or none), in order; any other text is the one year ``parse_year`` reads."""
    if (text or "").strip().lower() == ALL:
        current = SchoolYear.of(today).start
        return [SchoolYear(start) for start in sorted({*on_record(), current - 1, current})]
    return [parse_year(text, today)]
