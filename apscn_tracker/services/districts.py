"""Districts and their contacts: add, edit, list, show."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlmodel import col

from apscn_tracker.domain.lea import normalize_lea
from apscn_tracker.domain.roster import clean_email, clean_text
from apscn_tracker.errors import UserError
from apscn_tracker.ledger import queries as q
from apscn_tracker.ledger.models import Connection, Contact, District, Vendor
from apscn_tracker.services.app import App


def _emails(values: list[str] | None) -> list[str]:
    out: list[str] = []
    for value in values or []:
        email = clean_email(value)
        if email and email not in out:
            out.append(email)
    return out


def _named(values: list[str] | None) -> list[str]:
    """Contacts to remove, as stored (lower case). Not checked for delivery: that is how a contact stored before
    addresses were checked, which ``apscn doctor`` lists, is removed."""
    return list(dict.fromkeys(v.strip().lower() for v in values or [] if v and v.strip()))


def add_district(
    app: App,
    *,
    lea: str,
    name: str,
    county: str | None = None,
    emails: list[str] | None = None,
    contact_name: str | None = None,
    contact_role: str | None = None,
) -> dict[str, Any]:
    code, warnings = normalize_lea(lea)
    clean_name = clean_text(name, "name")
    if not clean_name:
        raise UserError("a district needs a name")
    clean_county = clean_text(county, "county")
    addresses = _emails(emails)
    cname, crole = clean_text(contact_name, "contact name"), clean_text(contact_role, "contact role")
    with app.ledger.write() as s:
        existing = q.find_district(s, code=code)
        if existing is not None:
            raise UserError(f"LEA {code} is already {existing.name}; use `apscn district edit {code}` to change it")
        now = q.utcnow()
        d = District(lea_code=code, name=clean_name, county=clean_county, created_at=now, updated_at=now)
        s.add(d)
        s.flush()
        assert d.id is not None  # the flush gave it one
        for email in addresses:
            s.add(Contact(district_id=d.id, email=email, name=cname, role=crole))
        q.add_event(
            s,
            kind="district_added",
            actor=app.actor,
            district_id=d.id,
            data={"name": clean_name, "county": clean_county, "contacts": addresses},
        )
    return {
        "lea": code,
        "name": clean_name,
        "county": clean_county,
        "contacts": addresses,
        "warnings": warnings,
    }


def edit_district(
    app: App,
    *,
    lea: str,
    name: str | None = None,
    county: str | None = None,
    emails: list[str] | None = None,
    add_emails: list[str] | None = None,
    remove_emails: list[str] | None = None,
    contact_name: str | None = None,
    contact_role: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Change a district. ``emails`` replaces the contact list; ``add_emails``/``remove_emails`` adjust it."""
    new_name, new_county = clean_text(name, "name"), clean_text(county, "county")
    replace = _emails(emails) if emails else None
    adding, removing = _emails(add_emails), _named(remove_emails)
    cname, crole = clean_text(contact_name, "contact name"), clean_text(contact_role, "contact role")
    if not any([new_name, new_county, replace, adding, removing, cname, crole]):
        raise UserError("nothing to change: give --name, --county, --email, --add-email or --remove-email")
    with app.ledger.write() as s:
        d = q.get_district(s, lea=lea)
        assert d.id is not None  # rows read from the ledger have their ids
        contacts = {c.email: c for c in q.contacts_of(s, district_id=d.id)}
        missing = [e for e in removing if e not in contacts]
        if missing:
            raise UserError(f"{d.lea_code} has no contact {missing[0]}; its contacts: {', '.join(contacts) or 'none'}")
        changes: dict[str, Any] = {}
        if new_name and new_name != d.name:
            changes["name"] = [d.name, new_name]
            d.name = new_name
        if new_county and new_county != d.county:
            changes["county"] = [d.county, new_county]
            d.county = new_county
        target = list(contacts)
        if replace is not None:
            target = replace
        target = [e for e in target if e not in removing] + [e for e in adding if e not in target]
        gone = [e for e in contacts if e not in target]
        added = [e for e in target if e not in contacts]
        if gone:
            s.execute(delete(Contact).where(col(Contact.district_id) == d.id, col(Contact.email).in_(gone)))
            changes["contacts_removed"] = gone
        for email in added:
            s.add(Contact(district_id=d.id, email=email, name=cname, role=crole))
        if added:
            changes["contacts_added"] = added
        if (cname or crole) and not added:
            for c in contacts.values():
                if c.email in target:
                    c.name, c.role = cname or c.name, crole or c.role
            changes["contact_details"] = {"name": cname, "role": crole}
        if not changes:
            raise UserError(f"{d.lea_code} already has those values; nothing changed")
        d.updated_at = q.utcnow()
        q.add_event(s, kind="district_edited", actor=app.actor, district_id=d.id, note=note, data=changes)
        return {"lea": d.lea_code, "name": d.name, "county": d.county, "contacts": target, "changes": changes}


def list_districts(app: App) -> list[dict[str, Any]]:
    with app.ledger.read() as s:
        contacts = (
            select(col(Contact.district_id), func.count().label("n")).group_by(col(Contact.district_id)).subquery()
        )
        conns = (
            select(col(Connection.district_id), func.count().label("n"))
            .where(col(Connection.retired_on).is_(None))
            .group_by(col(Connection.district_id))
            .subquery()
        )
        rows = s.execute(
            select(col(District.lea_code), col(District.name), col(District.county), contacts.c.n, conns.c.n)
            .outerjoin(contacts, contacts.c.district_id == District.id)
            .outerjoin(conns, conns.c.district_id == District.id)
            .order_by(col(District.lea_code))
        ).all()
    return [
        {"lea": lea, "name": name, "county": county, "contacts": nc or 0, "connections": nk or 0}
        for lea, name, county, nc, nk in rows
    ]


def show_district(app: App, *, lea: str) -> dict[str, Any]:
    with app.ledger.read() as s:
        d = q.get_district(s, lea=lea)
        assert d.id is not None  # rows read from the ledger have their ids
        contacts = [{"name": c.name, "email": c.email, "role": c.role} for c in q.contacts_of(s, district_id=d.id)]
        connections = [
            {
                "vendor": vname,
                "method": c.method,
                "course_planning": c.course_planning,
                "retired_on": c.retired_on.isoformat() if c.retired_on else None,
            }
            for c, vname in s.execute(
                select(Connection, col(Vendor.name))
                .join(Vendor, col(Vendor.id) == Connection.vendor_id)
                .where(col(Connection.district_id) == d.id)
                .order_by(col(Vendor.name))
            ).all()
        ]
        return {
            "lea": d.lea_code,
            "name": d.name,
            "county": d.county,
            "nces_leaid": d.nces_leaid,
            "source": d.source,
            "contacts": contacts,
            "connections": connections,
        }
