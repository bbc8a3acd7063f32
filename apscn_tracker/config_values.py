"""The checks of configuration values (``config.py`` applies them, and only it): each takes a value from
config.toml, the environment or an option and returns it converted, or raises ``Bad`` with what is expected.
Kept free of heavy imports: every command loads it."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from apscn_tracker.addresses import address_problem


class Bad(Exception):
    """A value refused by a check: what is expected, and what is wrong with it when that says more."""

    def __init__(self, expected: str, problem: str = "") -> None:
        super().__init__(expected)
        self.expected, self.problem = expected, problem


Check = Callable[[Any], Any]
CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]")
HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._:-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]")  # whole text (fullmatch)
SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+._-]{0,30})://")
DB_SCHEME = re.compile(r"(sqlite|postgresql)(\+[a-z0-9_]+)?")


def text(limit: int, what: str = "one line of text") -> Check:
    def check(value: Any) -> str:
        if not isinstance(value, str) or CONTROL.search(value) or len(value) > limit:
            raise Bad(f"{what} (at most {limit} characters)")
        return value

    return check


def whole(low: int, high: int, what: str = "a whole number", expected: str = "") -> Check:
    def check(value: Any) -> int:
        if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d{1,12}\s*", value):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise Bad(expected or f"{what} from {low} to {high}")
        return value

    return check


def seconds(high: float) -> Check:
    def check(value: Any) -> float:
        if isinstance(value, str) and re.fullmatch(r"\s*\d{1,9}(?:\.\d{1,9})?\s*", value):
            value = float(value)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= high:
            raise Bad(f"a number of seconds above 0 and at most {high:g}")  # NaN fails the range too
        return float(value)

    return check


def choice(*options: str) -> Check:
    def check(value: Any) -> str:
        if value not in options:
            raise Bad(" or ".join(", ".join(repr(o) for o in options).rsplit(", ", 1)))
        return str(value)

    return check


def zone(value: Any) -> str:
    if not isinstance(value, str):
        raise Bad("the name of a time zone like 'America/Chicago'")
    try:
        ZoneInfo(value)
    except Exception:  # unknown, a folder ('America'), a path outside the zone database, not a zone file
        raise Bad("the name of a time zone like 'America/Chicago'", "not a known time zone") from None
    return value


def address(value: Any) -> str:
    expected = "one email address like 'coordinator@coop.k12.ar.us'"
    if not isinstance(value, str):
        raise Bad(expected)
    problem = address_problem(value.strip(), local_domain=True)  # the one definition (addresses.py)
    if problem:
        raise Bad(expected, problem)
    return value.strip()


def web_url(value: Any) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not re.fullmatch(r"https?://[^\s/]+\S*", text) or len(text) > 500 or CONTROL.search(text):
        raise Bad("a web address like 'https://adedata.arkansas.gov/apscn-request' (http or https)")
    return text


def host(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 253 or not HOST.fullmatch(value):
        raise Bad("a host name or IP address like 'smtp.coop.k12.ar.us'")
    return value


def database_url(value: Any) -> str:
    expected = "a URL like 'sqlite:////srv/apscn/apscn.db' or 'postgresql+psycopg://user@host/apscn'"
    if not isinstance(value, str) or CONTROL.search(value):
        raise Bad(expected)
    scheme = SCHEME.match(value)
    if scheme is None:
        raise Bad(expected, "not a URL")
    if not DB_SCHEME.fullmatch(scheme.group(1)):
        raise Bad(expected, f"the scheme {scheme.group(1)!r} is not one the tracker uses")
    return value


def public_url(value: Any) -> str:
    scheme = SCHEME.match(value) if isinstance(value, str) and not CONTROL.search(value) else None
    if scheme is None or scheme.group(1).lower() not in ("http", "https") or not value[scheme.end() :].strip("/"):
        raise Bad("an http or https address like 'https://apscn.coop.k12.ar.us'")
    return value.rstrip("/")


def day(value: Any) -> date:
    if type(value) is not date:  # a TOML date; a datetime (a date subclass) carries a time: refused
        if not isinstance(value, str):
            raise Bad("a date like 2026-06-30")
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            raise Bad("a date like 2026-06-30", "not a date") from None
    if not 1990 <= value.year <= 2199:  # the school years the tracker handles; 9999-12-31 has no next year
        raise Bad("a date from 1990 to 2199")
    return value


def days(value: Any) -> tuple[date, ...]:
    if not isinstance(value, list | tuple):
        raise Bad("a list of dates like ['2026-12-28']")
    days = []
    for v in value:
        try:
            days.append(day(v))
        except Bad as bad:
            raise Bad("a list of dates like ['2026-12-28']", f"{toml(v, 40)}: {bad.problem or bad.expected}") from None
    return tuple(days)


def path(value: Any) -> Path:
    if not isinstance(value, str | Path) or not str(value).strip() or "\x00" in str(value):
        raise Bad("the path of a folder")
    return Path(str(value)).expanduser()


def pem_file(value: Any) -> Path:
    found = path(value)  # then it must be a file: a file of PEM certificates
    if not found.is_file():
        raise Bad("the path of a file of PEM certificates (the CA of the SMTP server)", "no such file")
    return found


def renewal_days(value: Any) -> tuple[int, ...]:
    expected = "a list of whole days before June 30, distinct, each from 1 to 366, like [60, 30, 14, 7, 1]"
    if not isinstance(value, list | tuple) or any(isinstance(v, bool) or not isinstance(v, int) for v in value):
        raise Bad(expected)
    if any(not 1 <= v <= 366 for v in value):
        raise Bad(expected, "a day out of range")
    twice = sorted(day for day, n in Counter(value).items() if n > 1)
    if twice:
        raise Bad(expected, f"{', '.join(map(str, twice))} listed twice")
    return tuple(sorted(value, reverse=True))


def toml(value: Any, limit: int = 60) -> str:
    """``value`` written roughly as in config.toml (dates bare, true/false), cut to ``limit`` characters."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, date):
        text = value.isoformat()
    elif isinstance(value, list | tuple):
        text = "[" + ", ".join(toml(v, limit) for v in value[:20]) + (", ...]" if len(value) > 20 else "]")
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
