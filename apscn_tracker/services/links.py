"""Districts that answer: the personal links in district emails, the key that signs them, and the step a link
records (``domain.links`` packs, signs and reads a link; this module keeps the key and reads the ledger).

The key is ``APSCN_SECRET_KEY`` when set, else ``$APSCN_HOME/secret.key`` (owner-only, made by ``apscn init`` or
by the first email that needs it). ``apscn keys rotate`` writes a new one and records the old one's id, so every
link signed before is refused as withdrawn. A link records its step through ``services.renewals``, as the CLI
does, with the contact's address as the actor and ``link`` as the source, and marks itself used in the same
transaction (``link_use``).
"""

from __future__ import annotations

import copy
import json
import os
import secrets
import stat
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from apscn_tracker.config import Settings
from apscn_tracker.domain import links as dl
from apscn_tracker.domain.links import Link, LinkProblem, LinkRefused
from apscn_tracker.domain.schoolyear import SchoolYear
from apscn_tracker.domain.steps import DATE_FIELDS, RenewalDates, StepRefused
from apscn_tracker.errors import InputError, UserError
from apscn_tracker.ledger import queries as q
from apscn_tracker.ledger.models import Connection, Contact, District, Event, LinkUse, Vendor
from apscn_tracker.services import renewals
from apscn_tracker.services.app import App

KEY_FILE = "secret.key"
KEY_ENV = "APSCN_SECRET_KEY"
ROTATED = "link_key_rotated"
SOURCE = "link"
_RECORD = {"request": renewals.record_request, "enable": renewals.record_enabled, "confirm": renewals.record_confirmed}


# -- the key ------------------------------------------------------------------------------------------------------


def key_file(settings: Settings) -> Path:
    return settings.home / KEY_FILE


def _from_env() -> bytes | None:
    value = os.environ.get(KEY_ENV)
    if value is None:
        return None
    if len(value.strip()) < dl.MIN_KEY_BYTES:
        raise InputError(
            f"{KEY_ENV} is too short: give at least {dl.MIN_KEY_BYTES} random characters "
            "(python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )
    return value.strip().encode("utf-8")


def _write_new(path: Path) -> bytes:
    """A new random key in a new owner-only file at ``path`` (replacing one there, atomically)."""
    key = secrets.token_urlsafe(48)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return key.encode("ascii")


_read: dict[Path, tuple[tuple[int, int, int, int], bytes]] = {}
"""The key last read from each file, by the file's identity (a tick signs a link per email: one stat each)."""


def _read_file(path: Path) -> bytes:
    st = path.stat()
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise UserError(f"{path} is readable by others; `chmod 600 {path}` (the links it signs are personal)")
    identity = (st.st_ino, st.st_mtime_ns, st.st_size, st.st_dev)
    known = _read.get(path)
    if known is not None and known[0] == identity:
        return known[1]
    key = path.read_text(encoding="ascii").strip().encode("ascii")
    if len(key) < dl.MIN_KEY_BYTES:
        raise UserError(f"{path} holds no usable key; `apscn keys rotate` writes a new one")
    _read[path] = (identity, key)
    return key


def signing_key(settings: Settings) -> bytes:
    """The key that signs and checks links; the key file is made (owner-only) if there is none."""
    env = _from_env()
    if env is not None:
        return env
    path = key_file(settings)
    try:
        return _read_file(path)
    except FileNotFoundError:
        pass
    settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # made by another process just now
        return _read_file(path)
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key + "\n")
    return key.encode("ascii")


def ensure_key(settings: Settings) -> str:
    """For ``apscn init``: where the key is (``environment``, ``created``, ``kept``)."""
    if os.environ.get(KEY_ENV) is not None:
        _from_env()
        return "environment"
    existed = key_file(settings).exists()
    signing_key(settings)
    return "kept" if existed else "created"


def rotate_key(app: App) -> dict[str, Any]:
    """Write a new key; every link signed by the old one is refused from now on (as withdrawn)."""
    if os.environ.get(KEY_ENV) is not None:
        raise UserError(
            f"the link key comes from {KEY_ENV}: set a new value there to rotate it (every earlier link then stops)"
        )
    old = signing_key(app.settings)
    with app.ledger.write() as s:
        new = _write_new(key_file(app.settings))
        q.add_event(
            s,
            kind=ROTATED,
            actor=app.actor,
            effective_on=app.today,
            data={"retired": dl.key_id(old).hex(), "key": dl.key_id(new).hex()},
            note="every link sent before stops working",
        )
    return {"key_file": str(key_file(app.settings)), "key_id": dl.key_id(new).hex(), "retired": dl.key_id(old).hex()}


def _retired(session: Session) -> frozenset[bytes]:
    rows = session.scalars(select(col(Event.data)).where(col(Event.kind) == ROTATED))
    return frozenset(bytes.fromhex(json.loads(d)["retired"]) for d in rows if d)


# -- the links of an email ----------------------------------------------------------------------------------------


def _dates(r: Any) -> RenewalDates:
    return RenewalDates(**{f: getattr(r, f, None) for f in DATE_FIELDS}) if r is not None else RenewalDates()


def email_links(
    app: App, *, connection: Any, contact_id: int | None, year: SchoolYear | None, renewal: Any
) -> list[dict[str, str]]:
    """The link of the step a district can record next for this renewal, signed for its first contact; none
    without ``public_url``, a contact, an API connection in use, an open step, or time left."""
    base = app.settings.public_url
    if not base or contact_id is None or year is None or connection is None or connection.id is None:
        return []
    if connection.method != "api" or getattr(connection, "retired_on", None) is not None:
        return []
    step = dl.open_step(_dates(renewal))
    if step is None or app.today > dl.expires_on(year) or (step == "request" and year > SchoolYear.of(app.today).next):
        return []
    link = Link(connection.id, year.start, step, contact_id, secrets.token_bytes(8))
    token = dl.sign(link, signing_key(app.settings))
    return [{"step": step, "label": dl.LABELS[step], "url": f"{base}/r/{token}"}]


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
    earliest: date | None  # the first date the step can carry (the step before it), if any
    recorded_on: date | None = None  # set once the link recorded its step
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
    if dl.open_step(dates) != link.step:
        field = {"request": "requested_on", "enable": "enabled_on", "confirm": "confirmed_on"}[link.step]
        done = getattr(dates, field)
        why = (
            _CLOSED_WORDS[link.step].format(year=what, on=f"{done:%B} {done.day}, {done.year}")
            if done is not None
            else f"the {what} renewal has moved on"
        )
        raise LinkRefused(f"This step is no longer open: {why}. Nothing more is needed here.", LinkProblem.CLOSED)
    earliest = dates.enabled_on if link.step == "confirm" else dates.requested_on if link.step == "enable" else None
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
        token_id=link.token_id,
    )
    return view, conn


def _link(s: Session, app: App, token: str) -> Link:
    return dl.read(token, signing_key(app.settings), retired=_retired(s))


def look(app: App, token: str) -> LinkView:
    """What the page of ``token`` shows (records nothing), or ``LinkRefused`` saying why it cannot be used."""
    with app.ledger.read() as s:
        return _view(s, app, _link(s, app, token))[0]


def record(app: App, token: str, *, on: date) -> LinkView:
    """Record the step of ``token`` on ``on`` as its contact, and mark the link used, in one transaction.

    ``LinkRefused`` when the link cannot be used; ``StepRefused`` (a whole sentence) when the date cannot be."""
    key = signing_key(app.settings)
    with app.ledger.read() as s:
        link = _link(s, app, token)
        view, conn = _view(s, app, link)
    if on > app.today:
        raise StepRefused(f"{on:%B} {on.day}, {on.year} is after today: give the day it happened.")
    if view.earliest is not None and on < view.earliest:
        before = "the request" if link.step == "enable" else "APSCN enabled the connection"
        raise StepRefused(f"{on:%B} {on.day}, {on.year} is before {before} ({view.earliest:%B} {view.earliest.day}).")
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
        done = _RECORD[link.step](
            as_contact,
            lea=view.lea,
            vendor=view.vendor,
            year=link.year.label,
            on=on,
            source=SOURCE,
            then=mark_used,
        )
    except IntegrityError:  # the same link, posted twice at once: the other one recorded it
        raise LinkRefused("This link was already used; it works once.", LinkProblem.USED) from None
    except StepRefused:
        look(app, token)  # the step recorded meanwhile by someone else: refused as no longer open
        raise
    after = RenewalDates(**{f: date.fromisoformat(done[f]) if done.get(f) else None for f in dl.STEP_DATES})
    step = dl.open_step(after)
    following = None
    if step is not None:  # a district that is further along can say so at once: the next step's own link
        following = dl.sign(
            Link(link.connection_id, link.school_year, step, link.contact_id, secrets.token_bytes(8)), key
        )
    return replace(view, recorded_on=on, next_token=following, next_label=dl.LABELS[step] if step else None)


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
