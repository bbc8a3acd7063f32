"""``apscn preview KIND [LEA]``: any kind of email rendered as it would be sent today; a read, it writes
nothing and never waits for a writer.

What the ledger cannot say for a kind comes from the registry's sample (``mail.kinds``): ``delivery_failed``
shows the latest message that failed for good, or a sample one; ``report_ready`` shows the summary of the
school year that ended (or of ``--year``), as the tick would send it on July 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from apscn_tracker.domain.schoolyear import SchoolYear, parse_year
from apscn_tracker.errors import UserError
from apscn_tracker.ledger.models import Outbox
from apscn_tracker.mail.delivery import failure_notice
from apscn_tracker.mail.kinds import Trigger, email_kind
from apscn_tracker.mail.render import Rendered
from apscn_tracker.services.app import App
from apscn_tracker.services.message_context import default_year
from apscn_tracker.services.messages import render_message
from apscn_tracker.services.report import report_paths, report_summary
from apscn_tracker.services.sending import check_reachable, resolve, target_year


@dataclass(frozen=True)
class Preview(Rendered):
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()


def _last_failure(session: Session) -> Outbox | None:
    outbox = Outbox.__table__.c
    return session.scalars(select(Outbox).where(outbox.status == "failed").order_by(outbox.id.desc()).limit(1)).first()


def preview(
    app: App,
    *,
    kind: str,
    lea: str | None = None,
    vendor: str | None = "Xello",
    year: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Preview:
    """Render ``kind`` (for a district when it is about one) as it would be sent today; queue nothing."""
    entry = email_kind(kind)
    if not entry.previewable:
        raise UserError(f"{kind} cannot be previewed")
    if entry.about_district and not lea:
        raise UserError(f"{kind} is about one district: give its LEA code")
    sy = parse_year(year, app.today) if year else default_year(entry, app.today)
    values = entry.sample_context()
    if entry.trigger is Trigger.YEARLY_REPORT and sy is not None:
        values = {"path": str(report_paths(app, sy)[0]), "summary": report_summary(app, year=sy)}
    with app.ledger.read() as s:
        d, v = resolve(s, lea=lea, vendor=vendor if (lea or entry.about_district) else None)
        district_id, vendor_id = (d.id if d else None), (v.id if v else None)
        if entry.trigger is Trigger.ON_DEMAND and d is not None and v is not None:
            sy = target_year(s, app, kind=kind, d=d, v=v, year=year)
        check_reachable(app, kind, sy)
        if entry.trigger is Trigger.DELIVERY_FAILURE:
            district_id, vendor_id, sy = _failure(s, values, district_id, vendor_id, sy)
        rendered, who, _ = render_message(
            s,
            app,
            kind=kind,
            district_id=district_id,
            vendor_id=vendor_id,
            school_year=sy,
            extra={**values, **(extra or {})},
        )
    return Preview(subject=rendered.subject, text=rendered.text, html=rendered.html, to=tuple(who.to), cc=tuple(who.cc))


def _failure(
    session: Session,
    values: dict[str, Any],
    district_id: int | None,
    vendor_id: int | None,
    sy: SchoolYear | None,
) -> tuple[int | None, int | None, SchoolYear | None]:
    """The latest message that failed for good, in ``values`` (the sample one stays when none did); the
    district, vendor and year of the notice are that message's unless given."""
    row = _last_failure(session)
    if row is None:
        return district_id, vendor_id, sy
    values["failed"] = failure_notice(row, error=row.last_error or "", refused=None)
    if district_id is None:
        district_id, vendor_id = row.district_id, row.vendor_id
    if sy is None and row.school_year is not None:
        sy = SchoolYear(row.school_year)
    return district_id, vendor_id, sy
