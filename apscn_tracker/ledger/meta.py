"""Facts about the ledger itself (the ``ledger_meta`` table): its random id, and the mail setup problem that
stopped delivery. The caller owns the transaction."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import delete, select
from sqlmodel import Session

from apscn_tracker.ledger.models import LedgerMeta

META = LedgerMeta.__table__
LEDGER_ID = "ledger_id"
MAIL_SETUP = "mail_setup"


def get(session: Session, key: str) -> str | None:
    return session.execute(select(META.c.value).where(META.c.key == key)).scalar()


def put(session: Session, key: str, value: str) -> None:
    """Set ``key`` (a write transaction)."""
    session.execute(delete(META).where(META.c.key == key))
    session.execute(META.insert().values(key=key, value=value))


def drop(session: Session, key: str) -> None:
    session.execute(delete(META).where(META.c.key == key))


def get_json(session: Session, key: str) -> Any:
    text = get(session, key)
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def ledger_id(session: Session) -> str:
    """The ledger's random id (made by the migration that added it; made here if a ledger lost it). Read once per
    session."""
    found = session.info.get(LEDGER_ID)
    if found:
        return str(found)
    found = get(session, LEDGER_ID)
    if not found:
        found = uuid.uuid4().hex
        put(session, LEDGER_ID, found)
    session.info[LEDGER_ID] = found
    return found
