"""Roster files, parsed and validated in full before anything is written.

Two formats are read:
- the project's own CSV: ``lea_code``, ``name`` required; ``county``, ``nces_leaid``, ``source``,
  ``contact_name``, ``contact_email``, ``contact_role`` optional; a district with several contacts takes several
  rows;
- the NCES Common Core of Data LEA directory: ``ST_LEAID`` (``AR-`` + LEA code), ``LEA_NAME``, ``LEAID`` (the NCES
  LEA ID) and a county column (``CONAME``, ``COUNTY_NAME`` or ``NMCNTY``); rows of other states are skipped.

Every problem of the rows is collected and raised at once (``RosterProblems``: line, column, problem).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from apscn_tracker.addresses import address_problem
from apscn_tracker.domain.lea import LeaError, normalize_lea
from apscn_tracker.errors import InputError, Problems

MAX_FIELD = 200
MAX_ROWS = 200_000
_FORMULA_START = ("=", "+", "@", "\t", "\r")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_COUNTY_COLUMNS = ("county", "coname", "county_name", "nmcnty")


class RosterError(InputError):
    """A roster file, or one of its values (a name, an email), that cannot be taken; the message says why."""


class RosterProblems(RosterError, Problems):
    """Every problem of a roster file's rows (line, column, problem)."""


@dataclass(frozen=True)
class RosterContact:
    email: str
    name: str | None = None
    role: str | None = None


@dataclass
class RosterDistrict:
    lea: str
    name: str
    county: str | None = None
    contacts: list[RosterContact] = field(default_factory=list)
    source: str | None = None
    nces: str | None = None  # the NCES LEA ID


@dataclass
class Roster:
    districts: list[RosterDistrict]
    warnings: list[str]
    format: str
    skipped: int = 0  # rows of other states (NCES files)


def decode(data: bytes) -> tuple[str, list[str]]:
    """UTF-8 (with or without BOM); Windows-1252 (Excel's "CSV") as a fallback, with a warning."""
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        try:
            return data.decode("cp1252"), [
                f"the file is not UTF-8 (byte {exc.start}); read as Windows-1252 - check accented names"
            ]
        except UnicodeDecodeError:
            raise RosterError("the file is neither UTF-8 nor Windows-1252 text; save it as CSV UTF-8") from None


def clean_text(value: str | None, what: str, limit: int = MAX_FIELD) -> str | None:
    """A single-line text field, or None when empty. Refuses control characters and formula-like cells."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if _CONTROL.search(text):
        raise RosterError(f"{what} contains a line break or control character")
    if len(text) > limit:
        raise RosterError(f"{what} is longer than {limit} characters")
    if text.startswith(_FORMULA_START) or text.startswith("-"):  # "-2+3+cmd|..." runs too
        raise RosterError(f"{what} {text[:30]!r} looks like a spreadsheet formula; remove the leading sign")
    return text


def clean_email(value: str | None, what: str = "email") -> str | None:
    text = clean_text(value, what)
    if text is None:
        return None
    problem = address_problem(text)
    if problem:
        raise RosterError(f"{what} {text!r} is not an email address that can receive mail: {problem}")
    return text.lower()


_NCES = re.compile(r"^\d{7}$")


def clean_nces(value: str | None) -> str | None:
    """An NCES LEA ID (7 digits, the state's two first: Arkansas is 05), or None when empty."""
    text = (value or "").strip()
    if not text:
        return None
    if text.isdigit() and len(text) == 6:  # a spreadsheet dropped the leading zero
        text = "0" + text
    if not _NCES.match(text):
        raise RosterError(f"NCES LEA ID {text[:20]!r} must be 7 digits, like 0500001")
    return text


def _field(problems: list[tuple[int, str, str]], line: int, column: str, check: Callable[..., Any], *args: Any) -> Any:
    """``check(*args)``, or None with its refusal added to ``problems`` as (line, column, problem)."""
    try:
        return check(*args)
    except (LeaError, RosterError) as exc:
        problems.append((line, column, str(exc)))
        return None


def _header_map(fieldnames: list[str]) -> dict[str, str]:
    return {(name or "").strip().lower(): name for name in fieldnames}


def parse_roster(data: bytes) -> Roster:
    text, warnings = decode(data)
    if "\x00" in text:
        raise RosterError("the file contains NUL bytes; is it a spreadsheet (.xlsx) rather than CSV?")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        fieldnames = reader.fieldnames
    except csv.Error as exc:
        raise RosterError(f"not a readable CSV file: {exc}") from None
    if not fieldnames:
        raise RosterError("the file is empty; expected a header row with lea_code,name")
    cols = _header_map(list(fieldnames))
    if "st_leaid" in cols and "lea_name" in cols:
        fmt, lea_col, name_col = "nces", cols["st_leaid"], cols["lea_name"]
    elif "lea_code" in cols and "name" in cols:
        fmt, lea_col, name_col = "apscn", cols["lea_code"], cols["name"]
    else:
        raise RosterError(
            "unknown columns "
            + ", ".join(repr(c) for c in fieldnames[:8])
            + ": expected lea_code,name[,county,contact_name,contact_email,contact_role] "
            "or the NCES CCD LEA directory (ST_LEAID, LEA_NAME)"
        )
    county_col = next((cols[c] for c in _COUNTY_COLUMNS if c in cols), None)
    email_col, cname_col = cols.get("contact_email", ""), cols.get("contact_name", "")
    role_col, source_col = cols.get("contact_role", ""), cols.get("source", "")
    nces_col = cols.get("leaid" if fmt == "nces" else "nces_leaid", "")
    by_lea: dict[str, RosterDistrict] = {}
    first_line: dict[str, int] = {}
    emails: dict[str, set[str]] = {}  # each district's contact addresses: a set, so a check is O(1), not O(contacts)
    problems: list[tuple[int, str, str]] = []
    skipped = 0
    try:
        for index, row in enumerate(reader):
            line = index + 2
            if index >= MAX_ROWS:
                raise RosterError(f"more than {MAX_ROWS} rows; split the file")
            if None in row:
                problems.append((line, "(row)", "more cells than header columns"))
                continue
            raw_lea = (row.get(lea_col) or "").strip()
            if fmt == "nces" and not raw_lea.upper().startswith("AR-"):
                skipped += 1
                continue
            if not raw_lea and not any((v or "").strip() for v in row.values()):
                continue  # blank line
            before = len(problems)

            take = partial(_field, problems, line)
            lea_found = take(lea_col, normalize_lea, raw_lea)
            lea = lea_found[0] if lea_found else raw_lea
            if lea_found and lea_found[1]:
                warnings.extend(f"line {line}: {w}" for w in lea_found[1])
            name = take(name_col, clean_text, row.get(name_col), "name")
            if name is None and len(problems) == before:
                problems.append((line, name_col, f"LEA {lea} has no name"))
            county = take(county_col, clean_text, row.get(county_col), "county") if county_col else None
            nces = take(nces_col, clean_nces, row.get(nces_col)) if nces_col else None
            email = take(email_col, clean_email, row.get(email_col), "contact_email")
            contact_name = take(cname_col, clean_text, row.get(cname_col), "contact_name")
            role = take(role_col, clean_text, row.get(role_col), "contact_role")
            source = take(source_col, clean_text, row.get(source_col), "source", 2000) if fmt == "apscn" else None
            if (contact_name or role) and not email and not row.get(email_col):
                problems.append((line, email_col or "contact_email", "a contact needs contact_email"))
            if len(problems) > before:
                continue
            current = by_lea.get(lea)
            if current is None:
                first_line[lea] = line
                current = by_lea[lea] = RosterDistrict(lea=lea, name=name, county=county, source=source, nces=nces)
            else:
                differs = [
                    (column, mine, theirs)
                    for column, mine, theirs in (
                        (name_col, name, current.name),
                        (county_col or "county", county, current.county),
                        (nces_col, nces, current.nces),
                    )
                    if mine and theirs and mine != theirs
                ]
                for column, mine, theirs in differs:
                    problems.append(
                        (
                            line,
                            column,
                            f"LEA {lea} appears again with {column} {mine!r}; line {first_line[lea]} gave {theirs!r} "
                            "(a district takes several rows only for several contacts)",
                        )
                    )
                if differs:
                    continue
                if not email:
                    warnings.append(f"line {line}: LEA {lea} is listed twice")
            if county and not current.county:
                current.county = county
            if nces and not current.nces:
                current.nces = nces
            if email:
                listed = emails.setdefault(lea, set())
                if email in listed:
                    warnings.append(f"line {line}: contact {email} is listed twice for {lea}")
                else:
                    listed.add(email)
                    current.contacts.append(RosterContact(email=email, name=contact_name, role=role))
    except csv.Error as exc:
        raise RosterError(f"not a readable CSV file: {exc}") from None
    if problems:
        raise RosterProblems("the roster", problems)
    if not by_lea:
        raise RosterError("the file has no district rows")
    return Roster(districts=list(by_lea.values()), warnings=warnings, format=fmt, skipped=skipped)
