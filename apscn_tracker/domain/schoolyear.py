"""School years: July 1 to June 30, labelled ``2026-27``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_LABEL = re.compile(r"^\s*(\d{4})\s*[-/]\s*(\d{2}|\d{4})\s*$")


class SchoolYearError(ValueError):
    pass


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
