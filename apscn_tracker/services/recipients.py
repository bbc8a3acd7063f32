"""To and Cc of a message: the roles of its kind (``mail.kinds``) turned into addresses, with fallbacks.

A district without a contact is never skipped silently: its email goes to the coordinator with a line asking
to forward it (and to add a contact), and the coordinator digest names every such district. Likewise an
email for a vendor without an Onboarding Manager address goes to the district to forward.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlmodel import Session

from apscn_tracker.mail.kinds import Role, email_kind
from apscn_tracker.mail.message import HeaderError, format_address
from apscn_tracker.services.app import App
from apscn_tracker.services.lookup import Lookup

log = logging.getLogger("apscn_tracker.mail")


@dataclass(frozen=True)
class Recipients:
    to: list[str]
    cc: list[str]
    forward_to_district: bool = False  # the district has no contact: sent to the coordinator to forward
    forward_to_onboarding: bool = False  # the vendor has no Onboarding Manager address: the district forwards
    missing: list[str] = field(default_factory=list)  # who could not be addressed, in words


def _address(email: str | None, name: str | None) -> str | None:
    """A formatted address; the display name is dropped when it cannot be a header (the address stays)."""
    if not email:
        return None
    try:
        return format_address(email, name)
    except HeaderError:
        pass
    try:
        return format_address(email)
    except HeaderError:
        log.warning("skipping unusable address %r", email)
        return None


def recipients(
    session: Session,
    app: App,
    *,
    kind: str,
    district_id: int | None = None,
    vendor_id: int | None = None,
    look: Lookup | None = None,
) -> Recipients:
    """To and Cc of ``kind`` for this district and vendor, with the fallbacks described in the module doc."""
    entry = email_kind(kind)
    look = look or Lookup(session)
    to_roles, cc_roles = entry.to, entry.cc
    s = app.settings
    coordinator = _address(s.coordinator_email, s.coordinator_name)
    contacts = look.contacts(district_id) if district_id is not None else []
    district_addrs = [a for c in contacts if (a := _address(c.email, c.name))]
    onboarding: str | None = None
    if vendor_id is not None:
        v = look.vendor(vendor_id)
        if v is not None:
            onboarding = _address(v.onboarding_email, v.onboarding_name)

    def addrs(role: Role) -> list[str]:
        if role is Role.DISTRICT:
            return list(district_addrs)
        if role is Role.COORDINATOR:
            return [coordinator] if coordinator else []
        return [onboarding] if onboarding else []

    to = [a for r in to_roles for a in addrs(r)]
    cc = [a for r in cc_roles for a in addrs(r)]
    missing: list[str] = []
    forward_district = forward_onboarding = False
    if Role.DISTRICT in entry.roles and district_id is not None and not district_addrs:
        missing.append("the district has no contact")
    if Role.ONBOARDING in to_roles and not onboarding:
        missing.append("the vendor has no Onboarding Manager address")
        if district_addrs:
            to, cc = list(district_addrs), [a for a in cc if a not in district_addrs]
            forward_onboarding = True
    if not to and Role.DISTRICT in to_roles and coordinator:
        to, cc = [coordinator], [a for a in cc if a != coordinator]
        forward_district = True
    if not to and Role.COORDINATOR in to_roles:
        missing.append("no coordinator_email is configured")
        if cc:
            to, cc = cc, []
    if not to and Role.ONBOARDING in to_roles and coordinator:
        to, cc = [coordinator], [a for a in cc if a != coordinator]
        forward_district = district_id is not None
    seen = {a.lower() for a in to}
    cc = [a for a in dict.fromkeys(cc) if a.lower() not in seen]
    return Recipients(
        to=list(dict.fromkeys(to)),
        cc=cc,
        forward_to_district=forward_district,
        forward_to_onboarding=forward_onboarding,
        missing=missing,
    )
