"""Standard multipart emails (text + HTML) built with the standard library, and header validation.

Addresses are stored in the outbox as one header value (``"Smith, Pat" <pat@x.org>, lee@y.org``): display
names keep their commas, quotes and accents, quoted as RFC 5322 wants; the email package encodes them when
the message is serialised. Any header value holding a line break or another control character is refused
(``HeaderError``), so nothing a district name or a contact brings in can add a header.
"""

from __future__ import annotations

import binascii
import functools
import hashlib
import re
from datetime import UTC, datetime
from email import policy
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime, getaddresses
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from apscn_tracker.addresses import address_problem
from apscn_tracker.errors import UserError

if TYPE_CHECKING:
    from apscn_tracker.config import Settings
    from apscn_tracker.ledger.models import Outbox

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]")


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
    _check_deliverable(email)
    if name:
        check_header("display name", name)
    try:
        return str(Address(display_name=(name or "").strip(), addr_spec=email))
    except (ValueError, TypeError, HeaderParseError) as exc:
        raise HeaderError(f"{email!r} is not a usable email address ({exc})") from None


def _check_deliverable(addr_spec: str, field: str | None = None) -> None:
    """``HeaderError`` with the reason when mail to ``addr_spec`` cannot be delivered (``addresses``); a domain
    without a dot is let through here (the default sender is ``apscn-tracker@localhost``)."""
    problem = address_problem(addr_spec, local_domain=True)
    if problem:
        raise HeaderError(
            f"{f'{field}: ' if field else ''}{addr_spec!r} is not an email address that can receive mail: {problem}"
        )


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
    try:
        header = policy.default.header_factory(field, text)
    except (IndexError, ValueError, TypeError) as exc:  # the parser itself trips on some bad input ("a@")
        raise HeaderError(
            f"{field} {text!r} is not a valid address list ({_why(text) or type(exc).__name__})"
        ) from None
    if header.defects:
        raise HeaderError(f"{field} {text!r} is not a valid address list ({_why(text) or header.defects[0]})")
    found = tuple(header.addresses)
    for a in found:
        _check_deliverable(a.addr_spec, field)
    return found


def _why(text: str) -> str | None:
    """The reason an address of ``text`` cannot receive mail, when the header parser only says it is invalid."""
    for _, addr in getaddresses([text]):
        problem = address_problem(addr, local_domain=True) if addr else None
        if problem:
            return f"{addr!r} is not an email address that can receive mail: {problem}"
    return None


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


def make_message_id(key: str, mail_from: str, ledger_id: str | None = None) -> str:
    """Fixed when the message is queued (a resend carries the same one), from the outbox key and the ledger's
    random id: two ledgers (a rehearsal and production) never give two messages the same Message-ID."""
    material = f"{ledger_id}\n{key}" if ledger_id else key
    digest = hashlib.sha256(material.encode("utf-8")).hexdigest()[:32]
    return f"<apscn.{digest}@{mail_domain(mail_from)}>"


def envelope_sender(settings: Settings) -> str:
    """The envelope sender (SMTP ``MAIL FROM``, the Return-Path), where servers send bounces: ``bounce_address``,
    else the coordinator, else the From address."""
    if settings.bounce_address:
        return settings.bounce_address.strip()
    if settings.coordinator_email:
        return settings.coordinator_email.strip()
    return check_sender(settings)[0].addr_spec


def check_sender(settings: Settings) -> tuple[Address, str | None]:
    """The From address and the Reply-To (the coordinator), or ``HeaderError`` saying which setting is wrong."""
    return _check_sender(settings.mail_from, settings.coordinator_email, settings.coordinator_name)


@functools.lru_cache(maxsize=16)
def _check_sender(
    mail_from: str, coordinator_email: str | None, coordinator_name: str | None
) -> tuple[Address, str | None]:
    why = ""
    try:
        senders = parse_addresses(mail_from, "From")
    except HeaderError as exc:
        senders, why = [], f" ({exc})"
    if len(senders) != 1:
        raise HeaderError(f"mail_from must be one address, like 'APSCN Tracker <tracker@coop.k12.ar.us>'{why}")
    reply_to = None
    if coordinator_email:
        try:
            reply_to = format_address(coordinator_email, coordinator_name)
        except HeaderError as exc:
            raise HeaderError(
                "coordinator_email must be one address like coordinator@coop.k12.ar.us, and coordinator_name one "
                f"line ({exc})"
            ) from None
        if Address(addr_spec=coordinator_email.strip()).addr_spec.lower() == senders[0].addr_spec.lower():
            reply_to = None
    return senders[0], reply_to


def stored_addresses(text: str, field: str) -> list[str]:
    """The addresses of a stored header value, each formatted (``Name <email>``), checked as strictly as
    ``parse_addresses`` does. Fast path: a value that reads back (``email.utils.getaddresses``) into pairs which
    ``format_address`` (strict, cached per pair) turns into exactly the same text is the canonical text of those
    addresses, as ``outbox_values`` writes it; anything else goes through the strict parser."""
    check_header(field, text or "")
    if not (text or "").strip():
        return []
    try:
        found = [format_address(addr, name or None) for name, addr in getaddresses([text])]
    except HeaderError:
        found = []
    if found and ", ".join(found) == text:
        return found
    return [str(a) for a in parse_addresses(text, field)]


class _Prebuilt(EmailPolicy):
    """``policy.default``, except that a header value this module has already checked and folded (ASCII, no line
    over 78 characters) is stored as it is instead of being parsed again by ``email.headerregistry``: parsing
    every header of every message was most of the cost of sending. Any other value (non-ASCII to encode, a line
    to fold) goes through the standard header classes as before. Reading a header parses it as usual."""

    def header_store_parse(self, name, value):  # type: ignore[no-untyped-def]
        if isinstance(value, str):
            if _ready(name, value):
                return (name, value)
            value = value.replace("\n ", " ")  # undo ``_fold``: the standard classes fold (and encode) it
        return super().header_store_parse(name, value)

    def header_fetch_parse(self, name, value):  # type: ignore[no-untyped-def]
        if isinstance(value, str) and name.lower() in _SAME_EVERY_TIME:
            return _parsed(name, value)
        return super().header_fetch_parse(name, value)


_SAME_EVERY_TIME = frozenset({"content-type", "content-transfer-encoding", "mime-version"})
"""Headers that take the same few values on every message, read again and again while it is written out."""


@functools.lru_cache(maxsize=64)
def _parsed(name: str, value: str):  # type: ignore[no-untyped-def]
    return EmailPolicy.header_fetch_parse(POLICY, name, value)  # the same header object whatever the line ends


def _ready(name: str, value: str) -> bool:
    if not value.isascii():
        return False
    lines = value.split("\n")
    if len(name) + 2 + len(lines[0]) > MAX_LINE or any(len(x) > MAX_LINE for x in lines[1:]):
        return False
    return all(x[:1] == " " for x in lines[1:]) and not _CONTROL.search(value.replace("\n ", " "))


MAX_LINE = 78
POLICY = _Prebuilt()
"""The policy of built messages (``policy.default`` otherwise; ``message_bytes`` sends CRLF line ends)."""


def _fold(name: str, words: list[str], sep: str) -> str:
    """``words`` joined by ``sep`` ("" or ","), folded before a space so that no line passes ``MAX_LINE``; a
    word too long for a line stays whole (the email package then folds the header itself)."""
    lines: list[str] = []
    line = ""
    room = MAX_LINE - len(name) - 2
    for i, word in enumerate(words):
        piece = word + (sep if i < len(words) - 1 else "")
        if line and len(line) + 1 + len(piece) > room:
            lines.append(line)
            line, room = piece, MAX_LINE - 1
        else:
            line = f"{line} {piece}" if line else piece
    lines.append(line)
    return "\n ".join(lines)


def _text_header(name: str, value: str) -> str:
    """An unstructured header (the subject): folded at spaces when it is ASCII; otherwise left to the email
    package, which encodes it (RFC 2047)."""
    if value.isascii() and "  " not in value and value == value.strip():
        return _fold(name, value.split(" "), "")
    return value


def _address_header(name: str, addresses: list[str]) -> str:
    return _fold(name, addresses, ",")


def _part(body: str, subtype: str) -> EmailMessage:
    """One text part: 7bit when the text is ASCII with short lines (as readable as it gets), else UTF-8
    quoted-printable (``binascii``, in C), so the message stays 7-bit and any server takes it."""
    part = EmailMessage(policy=POLICY)
    if body.isascii() and max(map(len, body.split("\n"))) <= 998:
        part["Content-Type"] = f'text/{subtype}; charset="utf-8"'
        part["Content-Transfer-Encoding"] = "7bit"
        part.set_payload(body)
    else:
        part["Content-Type"] = f'text/{subtype}; charset="utf-8"'
        part["Content-Transfer-Encoding"] = "quoted-printable"
        part.set_payload(binascii.b2a_qp(body.encode("utf-8"), istext=True).decode("ascii"))
    return part


def build_message(row: Outbox, settings: Settings) -> EmailMessage:
    """The email of one outbox row: From from the settings, To/Cc/Subject/Message-ID from the row, and a Date
    (when the message was queued) in the configured time zone. Every header is checked here again (no line
    break, no control character, addresses that parse), whatever the outbox holds."""
    sender, reply_to = check_sender(settings)
    to = stored_addresses(row.to_addrs, "To")
    if not to:
        raise HeaderError(f"outbox message {row.id} has no recipient")
    cc = stored_addresses(row.cc_addrs or "", "Cc")
    subject = check_header("Subject", row.subject)
    message_id = check_header("Message-ID", row.message_id)
    kind = check_header("kind", row.kind)

    msg = EmailMessage(policy=POLICY)
    msg["From"] = _address_header("From", [str(sender)])
    msg["To"] = _address_header("To", to)
    if cc:
        msg["Cc"] = _address_header("Cc", cc)
    if reply_to:
        msg["Reply-To"] = reply_to
    msg["Subject"] = _text_header("Subject", subject)
    msg["Date"] = format_datetime(row.created_at.astimezone(_zone(settings.timezone)))
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "OOF, AutoReply"
    msg["X-APSCN-Kind"] = kind
    msg["MIME-Version"] = "1.0"
    # a boundary fixed by the Message-ID: a resend is byte-for-byte the same message
    boundary = "apscn-" + hashlib.sha256(message_id.encode("utf-8")).hexdigest()[:40]
    msg["Content-Type"] = f'multipart/alternative; boundary="{boundary}"'
    msg.set_payload([_part(row.body_text, "plain"), _part(row.body_html, "html")])
    return msg


@functools.lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def message_bytes(msg: EmailMessage) -> bytes:
    """The message as an ``.eml`` file holds it (CRLF line ends, as on the wire)."""
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))


def now_utc() -> datetime:
    return datetime.now(UTC)
