"""Districts that answer: the personal links in district emails and the step a link records (``domain.links``
packs, signs and reads a link; ``services.link_key`` keeps the key that signs them; this module reads the ledger).

An email carries a link for each step still open for its renewal. A link records its step through
``services.renewals``, as the CLI does, with the contact's address as the actor and ``link`` as the source, and
marks itself used in the same transaction (``link_use``); a step before it that is not recorded yet is recorded
first, in that transaction, on the date the page asked for.
"""

from __future__ import annotations

import copy
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from apscn_tracker.config import Settings
from apscn_tracker.domain import links as dl
from apscn_tracker.domain.links import Link, LinkProblem, LinkRefused
from apscn_tracker.domain.schoolyear import SchoolYear
from apscn_tracker.domain.steps import DATE_FIELDS, RenewalDates, StepRefused
from apscn_tracker.ledger import queries as q
from apscn_tracker.ledger.models import Connection, Contact, District, Event, LinkUse, Vendor
from apscn_tracker.services import renewals
from apscn_tracker.services.app import App
from apscn_tracker.services.link_key import retired_keys, signing_key

SOURCE = "link"
_RECORD = {"request": renewals.record_request, "enable": renewals.record_enabled, "confirm": renewals.record_confirmed}


# -- the links of an email ----------------------------------------------------------------------------------------


def _dates(r: Any) -> RenewalDates:
    return RenewalDates(**{f: getattr(r, f, None) for f in DATE_FIELDS}) if r is not None else RenewalDates()


def email_links(
    app: App, *, connection: Any, contact_id: int | None, year: SchoolYear | None, renewal: Any
) -> list[dict[str, str]]:
    """A link for each step still open for this renewal (a district may be further along than the ledger knows),
    signed for its first contact; none without ``public_url``, a contact, an API connection in use, an open step,
    or time left."""
    base = app.settings.public_url
    if not base or contact_id is None or year is None or connection is None or connection.id is None:
        return []
    if connection.method != "api" or getattr(connection, "retired_on", None) is not None:
        return []
    steps = dl.open_steps(_dates(renewal))
    if not steps or app.today > dl.expires_on(year):
        return []
    if steps[0] == "request" and year > SchoolYear.of(app.today).next:
        return []  # too early to ask for that year at all
    key = signing_key(app.settings)
    out = []
    for step in steps:
        token = dl.sign(Link(connection.id, year.start, step, contact_id, secrets.token_bytes(8)), key)
        out.append({"step": step, "label": dl.LABELS[step], "url": f"{base}/r/{token}"})
    return out


# -- what a link shows and records --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkView:
    """What the page of a link shows: only this renewal's district, vendor, year and step."""

    step: str
    label: str
    lea: str
    district: str
    vendor: str
    school_year: str
    contact: str  # the contact's name, else address
    actor: str  # the contact's address: the step's actor
    today: date
    earliest: date | None  # the first date the dates asked for can carry (the last step recorded), if any
    question: str = ""  # the label of the step's date field
    before: tuple[tuple[str, str], ...] = ()  # the steps before it not recorded yet: (step, question), asked too
    recorded_on: date | None = None  # set once the link recorded its step
    recorded: tuple[tuple[str, date], ...] = ()  # then: every step it recorded, (label, date), in order
    next_token: str | None = None  # then: the link of the step after it, for a district further along
    next_label: str | None = None
    token_id: str = ""


_CLOSED_WORDS = {
    "request": "the APSCN request for {year} was recorded on {on}",
    "enable": "APSCN's enabling for {year} was recorded on {on}",
    "confirm": "the details for {year} were recorded as sent on {on}",
}


def _view(s: Session, app: App, link: Link) -> tuple[LinkView, Connection]:
    """The link's renewal as its page shows it, or the refusal of a link that cannot record its step now."""
    dl.check_fresh(link, app.today)
    used = s.scalar(select(LinkUse).where(col(LinkUse.token_id) == link.token_id))
    if used is not None:
        raise LinkRefused(
            f"This link was already used to record “{dl.LABELS[link.step]}”; a link works once.",
            LinkProblem.USED,
        )
    conn = s.get(Connection, link.connection_id)
    contact = s.get(Contact, link.contact_id)
    if conn is None:
        raise LinkRefused("This link is not one the APSCN tracker sent.", LinkProblem.TAMPERED)
    d, v = s.get(District, conn.district_id), s.get(Vendor, conn.vendor_id)
    assert d is not None and v is not None  # foreign keys
    if contact is None or contact.district_id != conn.district_id:
        raise LinkRefused(
            f"This link was sent to an address no longer on file for {d.name}; the newest email has a link that works.",
            LinkProblem.CLOSED,
        )
    what = f"{v.name} ({link.year.label})"
    if conn.retired_on is not None or conn.method != "api":
        raise LinkRefused(
            f"This step is no longer open: the {what} connection of {d.name} is no longer tracked by APSCN request.",
            LinkProblem.CLOSED,
        )
    r = q.find_renewal(s, connection_id=conn.id or 0, school_year=link.school_year)
    dates = _dates(r)
    if link.step not in dl.open_steps(dates):
        field = {"request": "requested_on", "enable": "enabled_on", "confirm": "confirmed_on"}[link.step]
        done = getattr(dates, field)
        why = (
            _CLOSED_WORDS[link.step].format(year=what, on=f"{done:%B} {done.day}, {done.year}")
            if done is not None
            else f"the {what} renewal has moved on"
        )
        raise LinkRefused(f"This step is no longer open: {why}. Nothing more is needed here.", LinkProblem.CLOSED)
    recorded = [getattr(dates, f) for f in dl.STEP_DATES[: dl.STEPS.index(link.step)]]
    earliest = max((d for d in recorded if d is not None), default=None)
    view = LinkView(
        step=link.step,
        label=dl.LABELS[link.step],
        lea=d.lea_code,
        district=d.name,
        vendor=v.name,
        school_year=link.year.label,
        contact=contact.name or contact.email,
        actor=contact.email,
        today=app.today,
        earliest=earliest,
        question=dl.QUESTIONS[link.step],
        before=tuple((b, dl.QUESTIONS[b]) for b in dl.missing_before(dates, link.step)),
        token_id=link.token_id,
    )
    return view, conn


def _link(s: Session, app: App, token: str) -> Link:
    return dl.read(token, signing_key(app.settings), retired=retired_keys(s))


def look(app: App, token: str) -> LinkView:
    """What the page of ``token`` shows (records nothing), or ``LinkRefused`` saying why it cannot be used."""
    with app.ledger.read() as s:
        return _view(s, app, _link(s, app, token))[0]


def _day(on: date) -> str:
    return f"{on:%B} {on.day}, {on.year}"


def _chain(view: LinkView, on: date, before: Mapping[str, date], today: date) -> list[tuple[str, date]]:
    """The steps a link records, each with its date, in order; ``StepRefused`` (a whole sentence) for a date
    missing, after today, or before the step it follows."""
    chain = []
    for step, _question in view.before:
        if before.get(step) is None:
            raise StepRefused(f"Give the date of this step too: {dl.LABELS[step]}.")
        chain.append((step, before[step]))
    chain.append((view.step, on))
    floor, floor_words = view.earliest, "the last step on file"
    if view.earliest is not None and not view.before:
        floor_words = "the request" if view.step == "enable" else "APSCN enabled the connection"
    for step, day in chain:
        if day > today:
            raise StepRefused(f"{_day(day)} is after today: give the day it happened.")
        if floor is not None and day < floor:
            raise StepRefused(f"{_day(day)} is before {floor_words} ({floor:%B} {floor.day}).")
        floor, floor_words = day, f"“{dl.LABELS[step]}”"
    return chain


def record(app: App, token: str, *, on: date, before: Mapping[str, date] | None = None) -> LinkView:
    """Record the step of ``token`` on ``on`` as its contact, and mark the link used, in one transaction. A step
    before it that is not recorded yet is recorded first, on its date in ``before`` (the page asks for it).

    ``LinkRefused`` when the link cannot be used; ``StepRefused`` (a whole sentence) when a date cannot be."""
    key = signing_key(app.settings)
    with app.ledger.read() as s:
        link = _link(s, app, token)
        view, conn = _view(s, app, link)
    chain = _chain(view, on, before or {}, app.today)
    as_contact = copy.copy(app)
    as_contact.actor = view.actor

    def mark_used(s: Session) -> None:
        s.add(
            LinkUse(
                token_id=link.token_id,
                connection_id=conn.id or 0,
                school_year=link.school_year,
                step=link.step,
                actor=view.actor,
                used_at=q.utcnow(),
            )
        )
        s.flush()

    try:
        with app.ledger.write() as s:
            for step, day in chain:
                done = _RECORD[step](
                    as_contact,
                    lea=view.lea,
                    vendor=view.vendor,
                    year=link.year.label,
                    on=day,
                    source=SOURCE,
                    then=mark_used if step == link.step else None,
                    session=s,
                )
    except IntegrityError:  # the same link, posted twice at once: the other one recorded it
        raise LinkRefused("This link was already used; it works once.", LinkProblem.USED) from None
    except StepRefused:
        look(app, token)  # the step recorded meanwhile by someone else: refused as no longer open
        raise
    after = RenewalDates(**{f: date.fromisoformat(done[f]) if done.get(f) else None for f in dl.STEP_DATES})
    nxt = dl.open_step(after)
    following = None
    if nxt is not None:  # a district that is further along can say so at once: the next step's own link
        following = dl.sign(
            Link(link.connection_id, link.school_year, nxt, link.contact_id, secrets.token_bytes(8)), key
        )
    return replace(
        view,
        recorded_on=on,
        recorded=tuple((dl.LABELS[st], day) for st, day in chain),
        next_token=following,
        next_label=dl.LABELS[nxt] if nxt else None,
    )


# -- what the coordinator sees --------------------------------------------------------------------------------------

_DONE = {"requested": "requested", "enabled": "enabled by APSCN", "confirmed": "details sent to the Onboarding Manager"}


def reported_since(session: Session, since: datetime) -> list[dict[str, Any]]:
    """The steps districts recorded by their links since ``since``, oldest first (the digest's
    "reported by the district"; undone ones too: the history says so)."""
    e = Event.__table__.c
    rows = session.execute(
        select(e.effective_on, e.kind, e.school_year, e.actor, e.data, col(District.lea_code), col(District.name))
        .add_columns(col(Vendor.name))
        .join(District, col(District.id) == e.district_id)
        .join(Vendor, col(Vendor.id) == e.vendor_id)
        .where(e.kind.in_(tuple(_DONE)), e.at > since, e.data.like(f'%"source": "{SOURCE}"%'))
        .order_by(e.id)
    ).all()
    return [
        {
            "lea": lea,
            "district": name,
            "vendor": vendor,
            "school_year": SchoolYear(year).label if year is not None else None,
            "what": _DONE[kind],
            "on": on,
            "actor": actor,
        }
        for on, kind, year, actor, data, lea, name, vendor in rows
        if json.loads(data).get("source") == SOURCE
    ]


def form_nonce(settings: Settings, token: str, now: int) -> str:
    """The hidden field of the form a link's page shows now (``now``: seconds since the epoch)."""
    return dl.form_nonce(signing_key(settings), token, now)


def form_nonce_ok(settings: Settings, token: str, nonce: str, now: int) -> bool:
    return dl.form_nonce_ok(signing_key(settings), token, nonce, now)
