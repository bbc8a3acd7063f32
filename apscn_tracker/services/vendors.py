"""Vendors (data partners) with their Onboarding Manager."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlmodel import col

from apscn_tracker.domain.roster import clean_email, clean_text
from apscn_tracker.errors import UserError
from apscn_tracker.ledger import queries as q
from apscn_tracker.ledger.models import Connection, Vendor
from apscn_tracker.services.app import App

XELLO = {"name": "Xello", "onboarding_name": "Xello Onboarding Manager", "onboarding_email": None}


def _clean(name: str | None, email: str | None, manager: str | None) -> tuple[str | None, str | None, str | None]:
    return (
        clean_text(name, "vendor name"),
        clean_email(email, "onboarding email"),
        clean_text(manager, "onboarding name"),
    )


def _row(v: Vendor, connections: int = 0) -> dict[str, Any]:
    return {
        "name": v.name,
        "onboarding_name": v.onboarding_name,
        "onboarding_email": v.onboarding_email,
        "connections": connections,
    }


def add_vendor(
    app: App, *, name: str, onboarding_email: str | None = None, onboarding_name: str | None = None
) -> dict[str, Any]:
    clean_name, email, manager = _clean(name, onboarding_email, onboarding_name)
    if not clean_name:
        raise UserError("a vendor needs a name")
    with app.ledger.write() as s:
        same = q.find_vendor(s, name=clean_name)
        if same is not None:
            raise UserError(f"vendor {same.name} already exists; use `apscn vendor edit {same.name}`")
        v = Vendor(name=clean_name, onboarding_email=email, onboarding_name=manager, created_at=q.utcnow())
        s.add(v)
        s.flush()
        q.add_event(
            s,
            kind="vendor_added",
            actor=app.actor,
            vendor_id=v.id,
            data={"onboarding_email": email, "onboarding_name": manager},
        )
        return _row(v)


def edit_vendor(
    app: App,
    *,
    name: str,
    new_name: str | None = None,
    onboarding_email: str | None = None,
    onboarding_name: str | None = None,
) -> dict[str, Any]:
    renamed, email, manager = _clean(new_name, onboarding_email, onboarding_name)
    if not any([renamed, email, manager]):
        raise UserError("nothing to change: give --name, --onboarding-email or --onboarding-name")
    with app.ledger.write() as s:
        v = q.get_vendor(s, name=name)
        changes: dict[str, Any] = {}
        if renamed and renamed != v.name:
            clash = q.find_vendor(s, name=renamed, other_than=v.id)
            if clash is not None:
                raise UserError(f"vendor {clash.name} already exists")
            changes["name"], v.name = [v.name, renamed], renamed
        if email and email != v.onboarding_email:
            changes["onboarding_email"], v.onboarding_email = [v.onboarding_email, email], email
        if manager and manager != v.onboarding_name:
            changes["onboarding_name"], v.onboarding_name = [v.onboarding_name, manager], manager
        if not changes:
            raise UserError(f"{v.name} already has those values; nothing changed")
        q.add_event(s, kind="vendor_edited", actor=app.actor, vendor_id=v.id, data=changes)
        return _row(v)


def list_vendors(app: App) -> list[dict[str, Any]]:
    with app.ledger.read() as s:
        counts = {
            vendor_id: n
            for vendor_id, n in s.execute(
                select(col(Connection.vendor_id), func.count())
                .where(col(Connection.retired_on).is_(None))
                .group_by(col(Connection.vendor_id))
            )
        }
        return [_row(v, counts.get(v.id, 0)) for v in s.scalars(select(Vendor).order_by(Vendor.name))]


def ensure_xello(app: App) -> bool:
    """Seed Xello once. Returns True when it was added."""
    with app.ledger.write() as s:
        if q.find_vendor(s, name="Xello") is not None:
            return False
        v = Vendor(name="Xello", onboarding_name=XELLO["onboarding_name"], created_at=q.utcnow())
        s.add(v)
        s.flush()
        q.add_event(s, kind="vendor_added", actor=app.actor, vendor_id=v.id, note="seeded")
        return True
