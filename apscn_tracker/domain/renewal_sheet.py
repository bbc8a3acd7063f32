"""The coordinator's spreadsheet of where each district stands, read and checked in full (pure: the ledger's
current state and ``today`` are passed in).

Columns: ``lea_code``, ``vendor`` (empty: Xello), ``school_year``, ``requested_on``, ``enabled_on``,
``confirmed_on``, optional ``note``; an empty date cell is a step not done. Each step goes through the same
function as `apscn request|enable|confirm` (``domain.steps``), so the dates are checked alike: in order, not in
the future, inside the school year's bounds. A step the ledger already holds with the same date is left as it
is; with another date (or a step the file leaves empty) it is a problem, fixed with `apscn correct`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from apscn_tracker.domain import steps
from apscn_tracker.domain.lea import LeaError, normalize_lea
from apscn_tracker.domain.roster import RosterError, decode
from apscn_tracker.domain.schoolyear import SchoolYear, SchoolYearError, parse_year
from apscn_tracker.domain.steps import RenewalDates, StepRefused
from apscn_tracker.domain.workdays import StateCalendar
from apscn_tracker.errors import InputError

COLUMNS = ("lea_code", "vendor", "school_year", "requested_on", "enabled_on", "confirmed_on")
STEP_COLUMNS = ("requested_on", "enabled_on", "confirmed_on")
DEFAULT_VENDOR = "Xello"
MAX_ROWS = 200_000


@dataclass(frozen=True)
class Known:
    """What the ledger holds, as plain values: district ids by code, vendors by lower-case name, connections by
    (district id, vendor id) -> (id, method, retired), renewals by (connection id, year start) -> (id, dates)."""

    districts: dict[str, int]
    vendors: dict[str, tuple[int, str]]
    connections: dict[tuple[int, int], tuple[int, str, bool]]
    renewals: dict[tuple[int, int], tuple[int, RenewalDates]]


@dataclass
class Planned:
    """One row's changes: the renewal's new dates and the events of the steps taken."""

    line: int
    lea: str
    district_id: int
    vendor_id: int
    vendor: str
    year: SchoolYear
    connection_id: int | None  # None: the import creates the API connection
    renewal_id: int | None  # None: a new renewal row
    dates: RenewalDates
    events: list[steps.Event] = field(default_factory=list)
    note: str | None = None


def _day(text: str) -> date:
    text = text.strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    parts = text.split("/")  # a spreadsheet's M/D/YYYY
    if len(parts) == 3 and all(p.isdigit() for p in parts) and len(parts[2]) == 4:
        try:
            return date(int(parts[2]), int(parts[0]), int(parts[1]))
        except ValueError:
            pass
    raise InputError(f"{text!r} is not a date (YYYY-MM-DD or M/D/YYYY)")


def read_sheet(data: bytes) -> tuple[list[tuple[int, dict[str, str]]], list[tuple[int, str, str]]]:
    """The rows (line, cells by column) and the file's own problems (a missing column, a malformed row)."""
    try:
        text, _ = decode(data)
    except RosterError as exc:
        raise InputError(str(exc)) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = {(c or "").strip().lower(): c for c in reader.fieldnames or []}
    missing = [c for c in COLUMNS if c not in header and c != "vendor"]
    if missing:
        raise InputError(
            f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; expected "
            + ",".join(COLUMNS)
            + "[,note]"
        )
    rows: list[tuple[int, dict[str, str]]] = []
    problems: list[tuple[int, str, str]] = []
    for index, raw in enumerate(reader):
        line = index + 2
        if index >= MAX_ROWS:
            raise InputError(f"more than {MAX_ROWS} rows; split the file")
        if None in raw:
            problems.append((line, "(row)", "more cells than header columns"))
            continue
        cells = {c: (raw.get(header[c]) or "").strip() for c in (*COLUMNS, "note") if c in header}
        if any(cells.values()):
            rows.append((line, cells))
    return rows, problems


def plan(
    rows: list[tuple[int, dict[str, str]]],
    known: Known,
    *,
    today: date,
    calendar: StateCalendar,
    window: int,
) -> tuple[list[Planned], list[tuple[int, str, str]]]:
    """Every row's changes, and every problem (line, column, problem); nothing is taken from a row with one."""
    planned: list[Planned] = []
    problems: list[tuple[int, str, str]] = []
    seen: dict[tuple[int, int, int], int] = {}
    years: dict[str, SchoolYear | SchoolYearError] = {}  # a sheet names a few years and dates many times over
    days: dict[str, date | InputError] = {}
    for line, cells in rows:
        found = len(problems)

        def problem(column: str, text: str, line: int = line) -> None:
            problems.append((line, column, text))

        lea, district_id = cells["lea_code"], None
        try:
            lea = normalize_lea(lea)[0]
            district_id = known.districts.get(lea)
            if district_id is None:
                problem("lea_code", f"no district with LEA {lea} in the ledger")
        except LeaError as exc:
            problem("lea_code", str(exc))
        vendor_name = cells.get("vendor") or DEFAULT_VENDOR
        vendor = known.vendors.get(vendor_name.lower())
        if vendor is None:
            problem("vendor", f"no vendor named {vendor_name!r} (`apscn vendor add NAME`)")
        year: SchoolYear | None = None
        if not cells["school_year"]:
            problem("school_year", "empty; give the school year, like 2025-26")
        else:
            found_year = years.get(cells["school_year"])
            if found_year is None:
                try:
                    found_year = parse_year(cells["school_year"], today)
                except SchoolYearError as exc:
                    found_year = exc
                years[cells["school_year"]] = found_year
            if isinstance(found_year, SchoolYearError):
                problem("school_year", str(found_year))
            else:
                year = found_year
        given: dict[str, date | None] = {}
        for column in STEP_COLUMNS:
            text = cells[column]
            day = days.get(text) if text else None
            if text and day is None:
                try:
                    day = days[text] = _day(text)
                except InputError as exc:
                    day = days[text] = exc
            if isinstance(day, InputError):
                problem(column, str(day))
            else:
                given[column] = day
        if len(problems) > found or district_id is None or vendor is None or year is None:
            continue
        vendor_id, vendor_label = vendor
        key = (district_id, vendor_id, year.start)
        if key in seen:
            problem("lea_code", f"{lea} {vendor_label} {year} is on line {seen[key]} too")
            continue
        seen[key] = line
        connection = known.connections.get((district_id, vendor_id))
        if connection is not None and connection[1] == "sftp":
            problem("vendor", f"{lea} sends {vendor_label} files by scripted SFTP upload; it needs no APSCN request")
            continue
        if connection is not None and connection[2]:
            problem(
                "vendor", f"the {vendor_label} connection of {lea} is retired; `apscn connect {lea}` brings it back"
            )
            continue
        existing = known.renewals.get((connection[0], year.start)) if connection is not None else None
        dates = existing[1] if existing is not None else RenewalDates()
        row = Planned(
            line=line,
            lea=lea,
            district_id=district_id,
            vendor_id=vendor_id,
            vendor=vendor_label,
            year=year,
            connection_id=connection[0] if connection is not None else None,
            renewal_id=existing[0] if existing is not None else None,
            dates=dates,
            note=cells.get("note") or None,
        )
        _steps(row, given, problem, today=today, calendar=calendar, window=window)
        if len(problems) == found and row.events:
            planned.append(row)
    return planned, problems


def _steps(
    row: Planned,
    given: dict[str, date | None],
    problem: Callable[[str, str], None],
    *,
    today: date,
    calendar: StateCalendar,
    window: int,
) -> None:
    """Take each step the file gives and the ledger does not hold yet, in order, through ``domain.steps``."""
    for column in STEP_COLUMNS:
        new, held = given[column], getattr(row.dates, column)
        if held is not None:
            if new != held:
                wrote = f"the file says {new}" if new else "the file leaves it empty"
                problem(
                    column,
                    f"{row.lea} {row.vendor} {row.year}: already recorded on {held}; {wrote} "
                    f"(`apscn correct {row.lea} --year {row.year} --{column.replace('_', '-')} DATE --note WHY`)",
                )
                return
            continue
        if new is None:
            continue
        try:
            if column == "requested_on":
                step = steps.request(row.dates, on=new, year=row.year, today=today, calendar=calendar, window=window)
            elif column == "enabled_on":
                step = steps.enable(row.dates, on=new, year=row.year, today=today)
            else:
                step = steps.confirm(row.dates, on=new, today=today)
        except StepRefused as exc:
            problem(column, str(exc))
            return
        row.dates = step.dates
        row.events.append(step.event)
