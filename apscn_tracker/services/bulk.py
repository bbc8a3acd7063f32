"""Bulk steps: `apscn request|enable|confirm LEA [LEA ...]` and `--from FILE`, all or nothing.

Each LEA goes through the same per-LEA service as one `apscn request LEA` (``services.renewals``), all of them
inside one unit of work: every LEA is resolved first, then every step is taken; any refusal rolls the whole
batch back and every refusal is listed at once (``errors.Problems``)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from apscn_tracker.domain.roster import decode
from apscn_tracker.errors import InputError, Problems, UserError
from apscn_tracker.ledger import queries as q
from apscn_tracker.services import renewals
from apscn_tracker.services.app import App

STEPS: dict[str, Callable[..., dict[str, Any]]] = {
    "request": renewals.record_request,
    "enable": renewals.record_enabled,
    "confirm": renewals.record_confirmed,
}


@dataclass(frozen=True)
class Item:
    at: int  # the argument's position, or the file's line
    lea: str
    on: date | None = None


def items_from_args(leas: list[str]) -> list[Item]:
    return [Item(at=i, lea=lea) for i, lea in enumerate(leas, start=1)]


def items_from_file(path: Path) -> list[Item]:
    """A CSV with ``lea_code`` and an optional ``on`` (YYYY-MM-DD); every problem of the file at once."""
    try:
        text, _ = decode(path.read_bytes())
    except FileNotFoundError:
        raise InputError(f"no file {path}") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    cols = {(c or "").strip().lower(): c for c in reader.fieldnames or []}
    if "lea_code" not in cols:
        raise InputError(f"{path.name}: expected a header row with lea_code (and optionally on); nothing was recorded")
    items: list[Item] = []
    problems: list[tuple[int, str, str]] = []
    for line, row in enumerate(reader, start=2):
        lea = (row.get(cols["lea_code"]) or "").strip()
        raw_on = (row.get(cols["on"]) or "").strip() if "on" in cols else ""
        if not lea and not raw_on:
            continue
        if not lea:
            problems.append((line, "lea_code", "empty"))
            continue
        try:
            on = date.fromisoformat(raw_on) if raw_on else None
        except ValueError:
            problems.append((line, "on", f"{raw_on!r} is not a date (YYYY-MM-DD)"))
            continue
        items.append(Item(at=line, lea=lea, on=on))
    if problems:
        raise Problems(f"{path.name}: nothing was recorded", problems)
    if not items:
        raise InputError(f"{path.name} lists no LEA; nothing was recorded")
    return items


def bulk_step(
    app: App,
    *,
    step: str,
    items: list[Item],
    vendor: str = "Xello",
    year: str | None = None,
    on: date | None = None,
    note: str | None = None,
    where: str = "arg",
) -> list[dict[str, Any]]:
    """Take ``step`` for every item in one transaction, or for none (every refusal listed)."""
    take = STEPS[step]
    problems: list[tuple[int, str, str]] = []
    results: list[dict[str, Any]] = []
    with app.ledger.write() as s:
        codes: dict[int, str] = {}
        seen: dict[str, int] = {}
        for item in items:  # every LEA first: unknown, ambiguous and repeated ones
            try:
                code = q.get_district(s, lea=item.lea).lea_code
            except UserError as exc:
                problems.append((item.at, item.lea, str(exc)))
                continue
            if code in seen:
                problems.append((item.at, item.lea, f"{code} is listed twice ({where} {seen[code]} too)"))
                continue
            seen[code] = item.at
            codes[item.at] = code
        for item in items:  # then every step of the LEAs found, so its refusals are listed too
            if item.at in codes:
                try:
                    results.append(
                        take(
                            app,
                            lea=codes[item.at],
                            vendor=vendor,
                            year=year,
                            on=item.on or on,
                            note=note,
                            session=s,
                        )
                    )
                except UserError as exc:
                    problems.append((item.at, codes[item.at], str(exc)))
        if problems:
            problems.sort(key=lambda p: p[0])
            # raised inside the unit of work: everything taken so far is rolled back
            raise Problems(
                f"nothing was recorded: {len(problems)} of {len(items)} refused", problems, where=where, what="LEA"
            )
    return results
