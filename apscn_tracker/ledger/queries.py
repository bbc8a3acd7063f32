"""Keyword-only query functions. Each takes an explicit session; callers own the transaction."""

from __future__ import annotations

import difflib
import json
import weakref
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import Table, func, select
from sqlalchemy.engine import Dialect
from sqlmodel import Session, col

from apscn_tracker.domain.lea import lookup_code
from apscn_tracker.errors import NotFound, Refused
from apscn_tracker.ledger.models import Connection, Contact, District, Event, Renewal, Vendor


def utcnow() -> datetime:
    return datetime.now(UTC)


T = TypeVar("T")

IN_LIST = 500
"""Values per ``IN (...)`` list: well under every database's limit of bound parameters."""


def chunks(items: Sequence[T], size: int = IN_LIST) -> Iterator[Sequence[T]]:
    """``items`` in slices of ``size`` (for IN lists and per-transaction batches)."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


class _InsertPlan(NamedTuple):
    """A compiled INSERT of some columns of a table for one dialect, and each value's way to the driver."""

    sql: str
    positional: bool
    processors: tuple[tuple[str, Callable[[Any], Any] | None], ...]  # (key, bind processor), in parameter order


# dialect -> (table, keys) -> plan: compiled and looked up once per process, not once per batch
_PLANS: weakref.WeakKeyDictionary[Dialect, dict[tuple[Table, tuple[str, ...]], _InsertPlan]] = (
    weakref.WeakKeyDictionary()
)


def _insert_plan(dialect: Dialect, table: Table, keys: tuple[str, ...]) -> _InsertPlan:
    plans = _PLANS.setdefault(dialect, {})
    plan = plans.get((table, keys))
    if plan is None:
        compiled = table.insert().compile(dialect=dialect, column_keys=list(keys))
        positional = bool(compiled.positional)
        order = list(compiled.positiontup) if positional and compiled.positiontup else list(keys)
        # the column type as this dialect runs it (a TypeDecorator wraps the dialect's own type), then its
        # bind processor: the function the statement would apply to each value
        processors = tuple((key, table.c[key].type.dialect_impl(dialect).bind_processor(dialect)) for key in order)
        plan = plans[(table, keys)] = _InsertPlan(str(compiled), positional, processors)
    return plan


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """``executemany`` INSERT of ``rows`` (dicts with the same keys) into ``table``, in the session's transaction.

    The statement is compiled once and each value goes through its column's bind processor once per distinct
    value, then straight to the driver: SQLAlchemy's per-row parameter machinery is most of the cost of a bulk
    insert at 10,000+ rows (bench/RESULTS.md), and a batch shares most of its dates and times.
    """
    if not rows:
        return
    conn = session.connection()
    plan = _insert_plan(conn.dialect, table, tuple(rows[0]))
    processors: list[tuple[str, Callable[[Any], Any] | None, dict[Any, Any] | None]] = [
        (key, proc, {} if proc is not None else None) for key, proc in plan.processors
    ]

    def value(row: dict[str, Any], key: str, proc: Callable[[Any], Any] | None, memo: dict[Any, Any] | None) -> Any:
        raw = row[key]
        if proc is None or memo is None or raw is None:
            return raw
        done = memo.get(raw, memo)
        if done is memo:
            done = memo[raw] = proc(raw)
        return done

    if plan.positional:
        params: list[Any] = [tuple(value(r, k, p, m) for k, p, m in processors) for r in rows]
    else:
        params = [{k: value(r, k, p, m) for k, p, m in processors} for r in rows]
    conn.exec_driver_sql(plan.sql, params)


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=3, cutoff=0.6)
    return f" Did you mean {' or '.join(close)}?" if close else ""


def find_district(session: Session, *, code: str) -> District | None:
    """The district with this exact LEA code, or None."""
    return session.scalars(select(District).where(col(District.lea_code) == code)).first()


def find_vendor(session: Session, *, name: str, other_than: int | None = None) -> Vendor | None:
    """The vendor called ``name``, whatever the case (not vendor ``other_than``), or None."""
    stmt = select(Vendor).where(func.lower(Vendor.name) == name.strip().lower())
    if other_than is not None:
        stmt = stmt.where(col(Vendor.id) != other_than)
    return session.scalars(stmt).first()


NAMED_SHOWN = 10
"""Districts a refusal lists when a name matches several."""


def districts_named(session: Session, *, text: str) -> list[tuple[str, str]]:
    """(code, name) of every district whose name contains ``text``, whatever the case, by code."""
    needle = text.strip().lower()
    if not needle:
        return []
    stmt = (
        select(col(District.lea_code), col(District.name))
        .where(func.lower(District.name).contains(needle, autoescape=True))
        .order_by(col(District.lea_code))
    )
    return [(c, n) for c, n in session.execute(stmt)]


def get_district(session: Session, *, lea: str) -> District:
    """The district an LEA argument names: its code, or a part of its name (any case) that only it contains.

    The one resolver of every command's LEA argument. Several districts matching the name -> ``Refused``, listing
    them; none -> ``NotFound``, with the nearest codes and names."""
    code = lookup_code(lea)
    found = find_district(session, code=code)
    if found is not None:
        return found
    text = lea.strip()
    named = districts_named(session, text=text) if text and not text.isdigit() else []
    exact = [(c, n) for c, n in named if n.lower() == text.lower()]
    if len(named) == 1 or len(exact) == 1:
        found = find_district(session, code=(exact or named)[0][0])
        assert found is not None  # just read
        return found
    if named:
        shown = "; ".join(f"{c} {n}" for c, n in named[:NAMED_SHOWN])
        more = f"; and {len(named) - NAMED_SHOWN} more" if len(named) > NAMED_SHOWN else ""
        raise Refused(f"{text!r} matches {len(named)} districts: {shown}{more}. Give the LEA code or more of the name")
    like = session.execute(
        select(col(District.lea_code), col(District.name)).where(col(District.lea_code).like(code[:4] + "%")).limit(3)
    ).all()
    hint = (" Did you mean " + " or ".join(f"{c} ({n})" for c, n in like) + "?") if like and text.isdigit() else ""
    raise NotFound(
        f"no district with LEA code or name {lea!r}.{hint} (`apscn district find TEXT` searches codes, NCES ids "
        "and names)"
    )


def get_vendor(session: Session, *, name: str) -> Vendor:
    found = find_vendor(session, name=name)
    if found is None:
        names = list(session.execute(select(col(Vendor.name))).scalars())
        raise NotFound(f"no vendor named {name!r}.{_suggest(name, names)} (`apscn vendor add NAME` adds one)")
    return found


def find_connection(session: Session, *, district_id: int, vendor_id: int) -> Connection | None:
    return session.scalars(
        select(Connection).where(col(Connection.district_id) == district_id, col(Connection.vendor_id) == vendor_id)
    ).first()


def find_renewal(session: Session, *, connection_id: int, school_year: int) -> Renewal | None:
    return session.scalars(
        select(Renewal).where(col(Renewal.connection_id) == connection_id, col(Renewal.school_year) == school_year)
    ).first()


def contacts_of(session: Session, *, district_id: int) -> list[Contact]:
    return list(
        session.scalars(select(Contact).where(col(Contact.district_id) == district_id).order_by(col(Contact.id)))
    )


def event_row(
    *,
    kind: str,
    actor: str,
    district_id: int | None = None,
    vendor_id: int | None = None,
    school_year: int | None = None,
    effective_on: date | None = None,
    note: str | None = None,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """The values of one event row, for Core inserts (``insert_rows``) and for ``add_event``; ``at``: now."""
    return {
        "at": at or utcnow(),
        "effective_on": effective_on,
        "kind": kind,
        "district_id": district_id,
        "vendor_id": vendor_id,
        "school_year": school_year,
        "actor": actor,
        "note": note,
        "data": json.dumps(data, sort_keys=True, default=str) if data else None,
    }


def add_event(
    session: Session,
    *,
    kind: str,
    actor: str,
    district_id: int | None = None,
    vendor_id: int | None = None,
    school_year: int | None = None,
    effective_on: date | None = None,
    note: str | None = None,
    data: dict[str, Any] | None = None,
) -> Event:
    ev = Event(
        **event_row(
            kind=kind,
            actor=actor,
            district_id=district_id,
            vendor_id=vendor_id,
            school_year=school_year,
            effective_on=effective_on,
            note=note,
            data=data,
        )
    )
    session.add(ev)
    return ev
