"""The personal links in district emails: what a link names, how it is signed and read, and when it expires.

A link is ``{public_url}/r/{token}``. The token names a renewal (its connection and school year), the step it
records and the contact it was sent to, plus a random nonce that makes every link different and is what
"already used" remembers. Its 24 bytes are packed, then signed with HMAC-SHA-256 (the first 16 bytes of the tag,
128 bits): 54 URL-safe characters in all, short enough that no mail program breaks the line.

The token also carries the id of the key that signed it (4 bytes of the key's own hash), so a link signed by a
key since rotated is told apart from one that was altered. Pure: the key, the nonce and today are parameters.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from apscn_tracker.domain.schoolyear import SchoolYear
from apscn_tracker.domain.steps import RenewalDates
from apscn_tracker.errors import Refused

VERSION = 1
STEPS = ("request", "enable", "confirm")
"""The steps a district can record by a link, in the order they happen."""
LABELS = {
    "request": "We submitted the APSCN request",
    "enable": "APSCN enabled our connection",
    "confirm": "We sent the details to our Onboarding Manager",
}
"""What each link says, in the district's words."""
STEP_DATES = ("requested_on", "enabled_on", "confirmed_on")
"""The date each step sets, in ``STEPS`` order."""
QUESTIONS = {
    "request": "When did you submit the APSCN request?",
    "enable": "When did APSCN enable the connection?",
    "confirm": "When did you send the details to your Onboarding Manager?",
}
"""The date field of each step on a link's page."""
VALID_DAYS_AFTER_YEAR = 30
"""A link works until this many days after June 30 of its school year."""

_LAYOUT = struct.Struct(">B4sIHBI8s")  # version, key id, connection, school year, step, contact, nonce
_TAG = 16
_CONTEXT = b"apscn-tracker link v1\x00"
MIN_KEY_BYTES = 32


class LinkProblem(StrEnum):
    """Why a token is not accepted. Each has its own page."""

    TAMPERED = "tampered"  # not a token this tracker signed (altered, cut short, made up)
    ROTATED = "rotated"  # signed by a key that was rotated since
    EXPIRED = "expired"
    USED = "used"
    CLOSED = "closed"  # the step is no longer open (recorded already, or the connection changed)


class LinkRefused(Refused):
    def __init__(self, message: str, problem: LinkProblem) -> None:
        super().__init__(message)
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Link:
    """What a token names."""

    connection_id: int
    school_year: int
    step: str
    contact_id: int
    nonce: bytes
    key_id: bytes = b""

    @property
    def token_id(self) -> str:
        """The nonce as text: what the ledger keeps of a used link (never the token itself)."""
        return self.nonce.hex()

    @property
    def year(self) -> SchoolYear:
        return SchoolYear(self.school_year)


def key_id(key: bytes) -> bytes:
    """4 bytes naming a key without revealing it."""
    return hashlib.sha256(b"apscn-tracker key id\x00" + key).digest()[:4]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _tag(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, _CONTEXT + payload, hashlib.sha256).digest()[:_TAG]


def sign(link: Link, key: bytes) -> str:
    """The token of ``link``, signed with ``key`` (whose id it carries)."""
    if len(link.nonce) != 8:
        raise ValueError("a link's nonce is 8 bytes")
    payload = _LAYOUT.pack(
        VERSION,
        key_id(key),
        link.connection_id,
        link.school_year,
        STEPS.index(link.step),
        link.contact_id,
        link.nonce,
    )
    return _b64(payload + _tag(key, payload))


_TAMPERED = "This link is not one the APSCN tracker sent: it may have been cut short or changed."


def read(token: str, key: bytes, *, retired: frozenset[bytes] = frozenset()) -> Link:
    """The link ``token`` names, if ``key`` signed it. ``retired``: the ids of the keys rotated out.

    A token whose key id is one of ``retired`` is refused as rotated (it cannot be checked, and need not be: it
    is refused either way); any other token that ``key`` did not sign is refused as tampered."""
    if not token or len(token) > 100 or not token.isascii():
        raise LinkRefused(_TAMPERED, LinkProblem.TAMPERED)
    try:
        raw = _unb64(token)
    except (binascii.Error, ValueError):
        raise LinkRefused(_TAMPERED, LinkProblem.TAMPERED) from None
    if len(raw) != _LAYOUT.size + _TAG or _b64(raw) != token:  # one spelling per token
        raise LinkRefused(_TAMPERED, LinkProblem.TAMPERED)
    payload, tag = raw[: _LAYOUT.size], raw[_LAYOUT.size :]
    version, kid, connection, year, step, contact, nonce = _LAYOUT.unpack(payload)
    if kid != key_id(key):
        if kid in retired:
            raise LinkRefused(
                "This link has been withdrawn: the tracker's links were renewed since it was sent.",
                LinkProblem.ROTATED,
            )
        raise LinkRefused(_TAMPERED, LinkProblem.TAMPERED)
    if not hmac.compare_digest(tag, _tag(key, payload)) or version != VERSION or step >= len(STEPS):
        raise LinkRefused(_TAMPERED, LinkProblem.TAMPERED)
    return Link(connection, year, STEPS[step], contact, nonce, kid)


def expires_on(year: SchoolYear) -> date:
    """The last day a link for ``year`` works: 30 days after the year's June 30."""
    return year.ends + timedelta(days=VALID_DAYS_AFTER_YEAR)


def check_fresh(link: Link, today: date) -> None:
    """Refuse a link whose time is over."""
    last = expires_on(link.year)
    if today > last:
        raise LinkRefused(
            f"This link expired on {last:%B} {last.day}, {last.year}: the {link.year.label} school year is over.",
            LinkProblem.EXPIRED,
        )


def open_steps(dates: RenewalDates) -> tuple[str, ...]:
    """Every step of a renewal with ``dates`` not recorded yet, in order (none once confirmed or cut). Each has a
    link: a district further along than the ledger knows records a later step with the dates of those before."""
    if dates.disconnected_on is not None:
        return ()
    return tuple(step for step, field in zip(STEPS, STEP_DATES, strict=True) if getattr(dates, field) is None)


def open_step(dates: RenewalDates) -> str | None:
    """The step a district can record next for a renewal with ``dates`` (None once confirmed or cut)."""
    steps = open_steps(dates)
    return steps[0] if steps else None


def missing_before(dates: RenewalDates, step: str) -> tuple[str, ...]:
    """The steps before ``step`` not recorded yet: a link for ``step`` asks for their dates too."""
    return tuple(s for s in open_steps(dates) if STEPS.index(s) < STEPS.index(step))


FORM_SECONDS = 2 * 3600
"""How long the form of a link's page may be sent after the page was shown."""


def form_nonce(key: bytes, token: str, issued: int) -> str:
    """The hidden field of the form a link's page shows at ``issued`` (seconds since the epoch): proof that the
    form was sent from that page, for that link, lately."""
    tag = hmac.new(key, b"apscn-tracker form\x00" + token.encode() + b"\x00" + str(issued).encode(), hashlib.sha256)
    return f"{issued}.{_b64(tag.digest()[:_TAG])}"


def form_nonce_ok(key: bytes, token: str, nonce: str, now: int) -> bool:
    issued_text, _, _ = nonce.partition(".")
    if not issued_text.isdigit() or len(issued_text) > 12:
        return False
    issued = int(issued_text)
    fresh = issued <= now + 60 and now - issued <= FORM_SECONDS
    return fresh and hmac.compare_digest(nonce, form_nonce(key, token, issued))
