"""The coordinator digest's content: what needs follow-up, the districts without a contact, mail in trouble."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlmodel import Session, col

from apscn_tracker.domain.schoolyear import SchoolYear
from apscn_tracker.domain.status import Status, renewal_status
from apscn_tracker.domain.workdays import request_by
from apscn_tracker.domain.yearchoice import cut_day, season_opens
from apscn_tracker.ledger.models import Connection, Contact, District, Outbox, Renewal, Vendor
from apscn_tracker.mail.outbox import problems
from apscn_tracker.services.app import App
from apscn_tracker.services.links import reported_since


def digest_values(session: Session, app: App) -> dict[str, Any]:
    """The digest's own context keys: ``items``, ``districts_without_contact``, ``delivery_problems``."""
    end_of_today = datetime.combine(app.today, time.max, tzinfo=UTC)
    return {
        "items": attention_items(session, app),
        "districts_without_contact": districts_without_contact(session),
        "delivery_problems": problems(session, max_attempts=app.settings.max_attempts, now=end_of_today, days=7),
        "district_reported": reported_since(session, _last_digest(session)),
    }


def _last_digest(session: Session) -> datetime:
    """When the digest before this one was queued (8 days ago when there was none): what districts reported
    since then is new to the coordinator. Clock time, as events record it (``--today`` moves neither)."""
    last = session.scalar(select(func.max(col(Outbox.created_at))).where(col(Outbox.kind) == "coordinator_digest"))
    return last if last is not None else datetime.now(UTC) - timedelta(days=8)


def districts_without_contact(session: Session) -> list[dict[str, Any]]:
    """Districts with an active connection and no contact: their reminders go to the coordinator."""
    has_contact = exists().where(col(Contact.district_id) == District.id)
    active = exists().where(and_(col(Connection.district_id) == District.id, col(Connection.retired_on).is_(None)))
    rows = session.execute(
        select(col(District.lea_code), col(District.name)).where(active, ~has_contact).order_by(col(District.lea_code))
    )
    return [{"lea": lea, "name": name} for lea, name in rows]


def _short(day: date | None) -> str:
    return f"{day:%a, %b} {day.day}" if day else "?"


def _step_item(base: dict[str, Any], st: Status, r: Renewal | None, today: date, cal: Any) -> dict[str, Any] | None:
    """The item of a renewal whose step is open: overdue (requested, not enabled in time) or enabled (details
    not yet sent); None otherwise."""
    if st == Status.OVERDUE and r is not None and r.requested_on is not None:
        waiting = cal.working_days_between(r.requested_on, today)
        return {
            **base,
            "status": "overdue",
            "requested_on": r.requested_on,
            "expected_enabled_by": r.expected_enabled_by,
            "working_days_waiting": waiting,
            "detail": f"requested {_short(r.requested_on)}, due {_short(r.expected_enabled_by)}, "
            f"{waiting} working days waiting",
            "act_by": cal.next_working_day(today),
        }
    if st == Status.ENABLED and r is not None:
        return {
            **base,
            "status": "enabled",
            "enabled_on": r.enabled_on,
            "detail": f"enabled {_short(r.enabled_on)}",
            "act_by": cal.next_working_day(today),
        }
    return None


def _status(year: SchoolYear, today: date, r: Renewal | None) -> Status:
    return renewal_status(
        method="api",
        year=year,
        today=today,
        requested_on=r.requested_on if r else None,
        expected_enabled_by=r.expected_enabled_by if r else None,
        enabled_on=r.enabled_on if r else None,
        confirmed_on=r.confirmed_on if r else None,
    )


def attention_items(session: Session, app: App) -> list[dict[str, Any]]:
    """The digest's list, over the current and the next school year: overdue and enabled-not-confirmed
    renewals of either, the current year lapsed (until its cut: from then nothing about it can be reached),
    and, in the renewal season, the next year not requested yet."""
    cal, today = app.calendar, app.today
    current = SchoolYear.of(today)
    upcoming = current.next
    window = app.settings.activation_working_days
    renewal_season = today >= season_opens(current, app.settings.reminders.renewal_days_before)
    before_cut = today < cut_day(current, cal, window)
    conns = session.execute(
        select(col(Connection.id), col(District.lea_code), col(District.name), col(Vendor.name))
        .join(District, col(District.id) == Connection.district_id)
        .join(Vendor, col(Vendor.id) == Connection.vendor_id)
        .where(
            col(Connection.retired_on).is_(None), col(Connection.method) == "api", col(Connection.created_on) <= today
        )
        .order_by(col(District.lea_code), col(Vendor.name))
    ).all()
    renewals: dict[tuple[int, int], Renewal] = {
        (r.connection_id, r.school_year): r
        for r in session.scalars(select(Renewal).where(col(Renewal.school_year).in_((current.start, upcoming.start))))
    }
    items: list[dict[str, Any]] = []
    for conn_id, lea, dname, vname in conns:
        r = renewals.get((conn_id, current.start))
        st = _status(current, today, r)
        base = {"lea": lea, "district": dname, "vendor": vname, "school_year": current.label}
        if before_cut:
            if st == Status.LAPSED:
                items.append(
                    {
                        **base,
                        "status": "lapsed",
                        "detail": f"no request, down since {current.begins:%b} {current.begins.day}",
                        "act_by": cal.on_or_after(today),
                    }
                )
            else:
                item = _step_item(base, st, r, today, cal)
                if item is not None:
                    items.append(item)
        nxt = renewals.get((conn_id, upcoming.start))
        ahead = {**base, "school_year": upcoming.label}
        if nxt is not None and nxt.requested_on is not None:
            item = _step_item(ahead, _status(upcoming, today, nxt), nxt, today, cal)
            if item is not None:
                items.append(item)
        elif renewal_season:
            by = request_by(cal, current.ends, window)
            down = f"; down since {current.begins:%b} {current.begins.day}" if st == Status.LAPSED else ""
            items.append(
                {
                    **ahead,
                    "status": "renewal_due",
                    "request_by": by,
                    "detail": f"request by {_short(by)}{down}",
                    "act_by": by if today <= by else cal.on_or_after(today),
                }
            )
    order = {"overdue": 0, "lapsed": 1, "renewal_due": 2, "enabled": 3}
    items.sort(key=lambda i: (order.get(i["status"], 9), i["lea"], i["vendor"], i["school_year"]))
    return items
