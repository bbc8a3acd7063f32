"""What the mail server answered for each recipient of a message, and what that makes of the message.

A server answers every recipient on its own (RCPT TO): some may be accepted while others are refused for now
(4xx) or for good (5xx); smtplib returns the refused ones, or raises ``SMTPRecipientsRefused`` when it refused
all. The outbox row keeps the answers (``Outbox.recipients``, JSON: lower-cased address -> state, reply, time):

- a recipient accepted once never receives the message again: a retry goes only to the others;
- the message is ``sent`` only when every To recipient was accepted and nobody is left to try (a Cc refused
  for good is reported to the coordinator, the message is still sent);
- a To recipient refused for good makes it ``failed``;
- otherwise (someone refused for now, or not tried yet) it stays ``pending`` and is tried again later.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from apscn_tracker.ledger.models import Outbox
from apscn_tracker.mail.message import HeaderError, parse_addresses

SENT, DEFERRED, FAILED = "sent", "deferred", "failed"
RETRY = "retry"
WAITING = "pending"  # not answered yet


def load(row: Outbox) -> dict[str, dict[str, Any]]:
    """The answers recorded for ``row`` (address -> {state, reply, at})."""
    try:
        found = json.loads(row.recipients) if row.recipients else {}
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def dump(states: dict[str, dict[str, Any]]) -> str | None:
    return json.dumps(states, sort_keys=True) if states else None


def _emails(text: str, field: str) -> list[str]:
    try:
        return [a.addr_spec for a in parse_addresses(text or "", field)]
    except HeaderError:
        return []


def addressees(row: Outbox) -> list[tuple[str, str]]:
    """(address, ``to`` or ``cc``) of every recipient the row names now, To first."""
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    for role, text in (("to", row.to_addrs), ("cc", row.cc_addrs)):
        for addr in _emails(text, role.capitalize()):
            if addr.lower() not in seen:
                seen.add(addr.lower())
                out.append((addr, role))
    return out


def still_to_send(row: Outbox, states: dict[str, dict[str, Any]]) -> list[str]:
    """The envelope recipients of the next try: every addressee not accepted yet."""
    return [a for a, _ in addressees(row) if states.get(a.lower(), {}).get("state") != SENT]


def record(
    states: dict[str, dict[str, Any]], tried: list[str], refused: dict[str, tuple[int, str]], now: datetime
) -> dict[str, dict[str, Any]]:
    """``states`` with the answers of one try: ``refused`` (address -> code, reply), the rest of ``tried``
    accepted."""
    out = dict(states)
    by_lower = {a.lower(): v for a, v in refused.items()}
    at = now.isoformat(timespec="seconds")
    for addr in tried:
        got = by_lower.get(addr.lower())
        if got is None:
            out[addr.lower()] = {"state": SENT, "reply": None, "at": at}
        else:
            code, reply = got
            out[addr.lower()] = {"state": DEFERRED if 400 <= code < 500 else FAILED, "reply": reply, "at": at}
    return out


def verdict(row: Outbox, states: dict[str, dict[str, Any]]) -> str:
    """``sent``, ``failed`` or ``retry`` (see the module doc)."""
    who = addressees(row)
    state = {a: states.get(a.lower(), {}).get("state", WAITING) for a, _ in who}
    if any(state[a] == FAILED for a, role in who if role == "to"):
        return FAILED
    if any(s in (DEFERRED, WAITING) for s in state.values()):
        return RETRY
    return SENT


def in_state(row: Outbox, states: dict[str, dict[str, Any]], *wanted: str) -> list[str]:
    """The addressees whose answer is one of ``wanted``."""
    return [a for a, _ in addressees(row) if states.get(a.lower(), {}).get("state", WAITING) in wanted]


def summary(states: dict[str, dict[str, Any]], addrs: list[str]) -> str:
    """``a@x: 550 ...; b@y: 450 ...``: the replies of ``addrs``."""
    return "; ".join(f"{a}: {states.get(a.lower(), {}).get('reply') or '?'}" for a in addrs)


def per_recipient(row: Outbox) -> list[dict[str, Any]]:
    """Each addressee with its role and state (``pending`` before any answer), for ``outbox list/show``; the
    recipients answered earlier that the row no longer names (readdressed since) are listed too."""
    states = load(row)
    out = []
    named = set()
    for addr, role in addressees(row):
        named.add(addr.lower())
        got = states.get(addr.lower(), {})
        out.append(
            {
                "address": addr,
                "role": role,
                "state": got.get("state", WAITING),
                "reply": got.get("reply"),
                "at": got.get("at"),
            }
        )
    for addr, got in states.items():
        if addr not in named and got.get("state") == SENT:
            out.append({"address": addr, "role": "earlier", "state": SENT, "reply": None, "at": got.get("at")})
    return out
