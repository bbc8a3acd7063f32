"""`apscn district find TEXT`: the districts a text names, by LEA code, NCES LEA ID or a part of the name.

Every other command resolves its LEA argument through ``ledger.queries.get_district`` (a code, or a part of a
name that only one district has); this lists every match, so the coordinator can pick the code."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select

from apscn_tracker.domain.lea import lookup_code
from apscn_tracker.errors import InputError
from apscn_tracker.ledger.models import District
from apscn_tracker.services.app import App

LIMIT = 50


def find_districts(app: App, *, text: str) -> list[dict[str, Any]]:
    needle = text.strip()
    if not needle:
        raise InputError("give a code, an NCES LEA ID or a part of a district name")
    d = District.__table__.c
    matches = [
        d.lea_code == lookup_code(needle),
        d.nces_leaid == needle,
        func.lower(d.name).contains(needle.lower(), autoescape=True),
    ]
    if needle.isascii() and needle.isdigit():  # the start of a code: "010" finds 0101000 and 0104000
        matches += [d.lea_code.startswith(needle, autoescape=True), d.nces_leaid.startswith(needle, autoescape=True)]
    with app.ledger.read() as s:
        rows = s.execute(
            select(d.lea_code, d.name, d.county, d.nces_leaid).where(or_(*matches)).order_by(d.lea_code).limit(LIMIT)
        ).all()
    return [{"lea": lea, "name": name, "county": county, "nces_leaid": nces} for lea, name, county, nces in rows]
