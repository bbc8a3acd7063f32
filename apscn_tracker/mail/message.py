"""Standard multipart emails (text + HTML) built with the standard library, and header validation.

Addresses are stored in the outbox as one header value (``"Smith, Pat" <pat@x.org>, lee@y.org``): display
names keep their commas, quotes and accents, quoted as RFC 5322 wants; the email package encodes them when
the message is serialised. Any header value holding a line break or another control character is refused
(``HeaderError``), so nothing a district name or a contact brings in can add a header.
"""

from __future__ import annotations

import functools
import hashlib
import re
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from apscn_tracker.errors import UserError

if TYPE_CHECKING:
    from apscn_tracker.config import Settings
    from apscn_tracker.ledger.models import Outbox

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]")
_ADDR_SPEC = re.compile(r"^[^\s@<>(),;:\"\[\]\\]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")


class HeaderError(UserError):
    """A header value that cannot go into an email: a line break, a control character, a bad address."""


def check_header(field: str, value: str) -> str:
    """``value`` if it is one clean line, else ``HeaderError`` naming the field (never echoing the value)."""
    if not isinstance(value, str):
        raise HeaderError(f"{field} must be text")
    if _CONTROL.search(value):
        raise HeaderError(f"{field} contains a line break or control character; refused")
    return value


def format_address(email: str, name: str | None = None) -> str:
    """``Name <email>`` with the name quoted when it needs to be; refuses line breaks and bad addresses."""
    if not isinstance(email, str):
        check_header("email address", email)  # refuses it: not text
    if name and not isinstance(name, str):
        check_header("display name", name)
    return _format_address(email, name)


# Parsing and formatting go through ``email.headerregistry``, which is slow, and the same few strings come back on
# message after message (the coordinator on each one, a district's contacts on each of its vendors' messages):
# both are pure functions of their strings, cached per distinct string. A refusal raises; it is not cached.
_CACHED = 8192


@functools.lru_cache(maxsize=_CACHED)
def _format_address(email: str, name: str | None) -> str:
    check_header("email address", email)
    email = email.strip()
    if not _ADDR_SPEC.match(email):
        raise HeaderError(f"{email!r} is not an email address like name@district.k12.ar.us")
    if name:
        check_header("display name", name)
    try:
        return str(Address(display_name=(name or "").strip(), addr_spec=email))
    except (ValueError, TypeError) as exc:
        raise HeaderError(f"{email!r} is not a usable email address ({exc})") from None


def parse_addresses(text: str, field: str = "To") -> list[Address]:
    """The addresses of one stored header value (empty text: none)."""
    if not isinstance(text or "", str):
        check_header(field, text)  # refuses it: not text
    return list(_parse_addresses(text or "", field))


@functools.lru_cache(maxsize=_CACHED)
def _parse_addresses(text: str, field: str) -> tuple[Address, ...]:
    check_header(field, text or "")
    if not (text or "").strip():
        return ()
    header = policy.default.header_factory(field, text)
    if header.defects:
        raise HeaderError(f"{field} {text!r} is not a valid address list ({header.defects[0]})")
    found = tuple(header.addresses)
    for a in found:
        if not _ADDR_SPEC.match(a.addr_spec):
            raise HeaderError(f"{field}: {a.addr_spec!r} is not an email address")
    return found


def normalize_addresses(values: list[str] | tuple[str, ...], field: str) -> list[str]:
    """Each value parsed and formatted again (``Name <email>``), duplicates (same address) dropped."""
    out: list[str] = []
    seen: set[str] = set()
    for value in values:
        for a in parse_addresses(value, field):
            key = a.addr_spec.lower()
            if key not in seen:
                seen.add(key)
                out.append(format_address(a.addr_spec, a.display_name or None))
    return out


def address_emails(text: str) -> list[str]:
    """The bare, lower-cased addresses of a stored header value."""
    return [a.addr_spec.lower() for a in parse_addresses(text)]


def mail_domain(mail_from: str) -> str:
    """The domain of the sender address, for Message-IDs; ``localhost`` when it has none."""
    try:
        found = parse_addresses(mail_from, "From")
    except HeaderError:
        return "localhost"
    domain = found[0].domain if found else ""
    return domain if domain and domain.isascii() else "localhost"


def make_message_id(key: str, mail_from: str) -> str:
    """Stable for one outbox key: a resend after a crash carries the same Message-ID."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"<apscn.{digest}@{mail_domain(mail_from)}>"


def check_sender(settings: Settings) -> tuple[Address, str | None]:
    """The From address and the Reply-To (the coordinator), or ``HeaderError`` saying which setting is wrong."""
    try:
        senders = parse_addresses(settings.mail_from, "From")
    except HeaderError:
        senders = []
    if len(senders) != 1:
        raise HeaderError("mail_from must be one address, like 'APSCN Tracker <tracker@coop.k12.ar.us>'")
    reply_to = None
    if settings.coordinator_email:
        try:
            reply_to = format_address(settings.coordinator_email, settings.coordinator_name)
        except HeaderError:
            raise HeaderError(
                "coordinator_email must be one address like coordinator@coop.k12.ar.us, and coordinator_name one line"
            ) from None
        if Address(addr_spec=settings.coordinator_email.strip()).addr_spec.lower() == senders[0].addr_spec.lower():
            reply_to = None
    return senders[0], reply_to


def build_message(row: Outbox, settings: Settings) -> EmailMessage:
    """The email of one outbox row: From from the settings, To/Cc/Subject/Message-ID from the row, and a Date
    (when the message was queued) in the configured time zone."""
    sender, reply_to = check_sender(settings)
    to = parse_addresses(row.to_addrs, "To")
    if not to:
        raise HeaderError(f"outbox message {row.id} has no recipient")
    cc = parse_addresses(row.cc_addrs or "", "Cc")
    subject = check_header("Subject", row.subject)
    message_id = check_header("Message-ID", row.message_id)
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)

    msg = EmailMessage(policy=policy.default)
    msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    if reply_to:
        msg["Reply-To"] = reply_to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(created.astimezone(ZoneInfo(settings.timezone)))
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "OOF, AutoReply"
    msg["X-APSCN-Kind"] = check_header("kind", row.kind)
    # quoted-printable keeps the message 7-bit: any server takes it, accents and all
    msg.set_content(row.body_text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(row.body_html, subtype="html", charset="utf-8", cte="quoted-printable")
    # a boundary fixed by the Message-ID: a resend is byte-for-byte the same message
    msg.set_boundary("apscn-" + hashlib.sha256(message_id.encode("utf-8")).hexdigest()[:40])
    return msg


def message_bytes(msg: EmailMessage) -> bytes:
    """The message as an ``.eml`` file holds it (CRLF line ends, as on the wire)."""
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))


def now_utc() -> datetime:
    return datetime.now(UTC)
