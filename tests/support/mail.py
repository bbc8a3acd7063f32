"""A ledger with a district in every situation an email is about, shared by the mail tests.

Today is Monday, November 2, 2026 (school year 2026-27):

- 6001000 Little Rock: two contacts (one named with a comma, accents and quotes), enabled, details not sent
- 1612000 Valley View: requested October 14, overdue
- 2906000 Spring Hill: no request, lapsed
- 5803000 Hector: scripted SFTP upload (course planning)
- 5901000 Des Arc: connected, no contact
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from sqlalchemy import select

from apscn_tracker.ledger import queries as q
from apscn_tracker.ledger.models import Outbox
from apscn_tracker.mail.kinds import email_kind
from apscn_tracker.services.app import App
from apscn_tracker.services.messages import queue_message

TODAY = date(2026, 11, 2)
NOW = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)  # 8:00 in Arkansas
COORDINATOR = "coordinator@coop.example"
ONBOARDING = "onboarding@xello.example"
ACCENTED = 'José "Pepe" Núñez, Jr.'

ENABLED, OVERDUE, LAPSED, SCRIPTED, NO_CONTACT = "6001000", "1612000", "2906000", "5803000", "5901000"

# kind -> the district it is about
SUBJECT_OF = {
    "renewal_reminder": ENABLED,
    "lapsed_notice": LAPSED,
    "activation_overdue": OVERDUE,
    "send_details_reminder": ENABLED,
    "coordinator_digest": None,
    "request_form": LAPSED,
    "powerschool_activation": ENABLED,
    "upload_complete": SCRIPTED,
    "delivery_failed": ENABLED,
    "report_ready": None,
}


def mail_settings(**extra: Any) -> dict[str, Any]:
    return {
        "coordinator_email": COORDINATOR,
        "coordinator_name": "Casey Coordinator",
        "mail_from": "APSCN Tracker <tracker@coop.example>",
        **extra,
    }


def build_scenario(app: App) -> None:
    from apscn_tracker.services import connections, districts, renewals, vendors
    from apscn_tracker.services.setup import init

    init(app)
    vendors.edit_vendor(app, name="Xello", onboarding_email=ONBOARDING, onboarding_name="Robin Onboarding")
    districts.edit_district(
        app, lea=ENABLED, add_emails=["lee.grant@lrsd.example"], contact_name="Lee Grant", contact_role="Data lead"
    )
    districts.edit_district(app, lea=ENABLED, add_emails=["jose@lrsd.example"], contact_name=ACCENTED)
    for lea, who in ((OVERDUE, "Chris Park"), (LAPSED, "Dana White"), (SCRIPTED, "Hal Ortiz")):
        slug = who.lower().replace(" ", ".")
        districts.edit_district(app, lea=lea, add_emails=[f"{slug}@{lea}.example"], contact_name=who)
    for lea in (ENABLED, OVERDUE, LAPSED, NO_CONTACT):
        connections.connect(app, lea=lea, vendor="Xello", method="api")
    connections.connect(app, lea=SCRIPTED, vendor="Xello", method="sftp", course_planning=True)
    renewals.record_request(app, lea=ENABLED, on=date(2026, 10, 1))
    renewals.record_enabled(app, lea=ENABLED, on=date(2026, 10, 15))
    renewals.record_request(app, lea=OVERDUE, on=date(2026, 10, 14))


def ids(app: App, lea: str | None, vendor: str | None = "Xello") -> tuple[int | None, int | None]:
    with app.ledger.write() as s:
        d = q.get_district(s, lea=lea).id if lea else None
        v = q.get_vendor(s, name=vendor).id if (vendor and lea) else None
    return d, v


FAILED_EXTRA = {
    "failed": {
        "id": 41,
        "kind": "renewal_reminder",
        "subject": "Renew the Xello API connection",
        "to": "Lee Grant <lee.grant@lrsd.example>",
        "cc": "",
        "error": "550 5.1.1 mailbox unavailable",
        "refused": [],
        "partial": False,
        "created_at": NOW,
        "message_id": "<apscn.x@coop.example>",
    }
}


def queue(app: App, kind: str, *, key: str | None = None, now: datetime = NOW, **extra: Any) -> Outbox | None:
    """Queue ``kind`` about its scenario district in one transaction (with the registry's sample of what the
    ledger cannot say: the failed message of a delivery notice, the report of a ``report_ready``)."""
    lea = SUBJECT_OF[kind]
    district_id, vendor_id = ids(app, lea)
    if not extra:
        extra = dict(FAILED_EXTRA) if kind == "delivery_failed" else email_kind(kind).sample_context()
    with app.ledger.write() as s:
        return queue_message(
            s,
            app,
            key=key or f"test:{kind}",
            kind=kind,
            district_id=district_id,
            vendor_id=vendor_id,
            school_year=2026,
            extra=extra or None,
            now=now,
        )


def rows(app: App) -> list[Outbox]:
    with app.ledger.write() as s:
        return list(s.scalars(select(Outbox).order_by(Outbox.id)))


def parse(data: bytes) -> EmailMessage:
    msg = BytesParser(policy=policy.default).parsebytes(data)
    assert isinstance(msg, EmailMessage)
    return msg


def parts(msg: EmailMessage) -> tuple[str, str]:
    """(text, html) of a multipart/alternative message."""
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return tuple(p.get_content().replace("\r\n", "\n") for p in (text, html))  # type: ignore[return-value]
