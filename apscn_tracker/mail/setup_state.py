"""The mail setup problem that stopped delivery, kept in the ledger (``ledger_meta``, key ``mail_setup``) with a
fingerprint of the mail settings it happened with.

- ``doctor`` fails with its line at once, while the settings are the same (``problem``);
- after a refused login, delivery pauses (``check`` raises the same line, no login is tried) until the mail
  settings change: a wrong password is not tried run after run until the account is locked;
- the first run that hands a message to the transport again forgets it.

The fingerprint is a slow salted hash (PBKDF2, the ledger's random id as salt) of the mail settings, the
password among them, so a changed password counts as a change; the password itself is never stored.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime
from typing import Any

from apscn_tracker.config import Settings
from apscn_tracker.ledger import meta
from apscn_tracker.mail.claims import App
from apscn_tracker.mail.transports import SetupError

log = logging.getLogger("apscn_tracker.mail")

ROUNDS = 50_000
PAUSED = "delivery is paused (no more login tries) until the mail settings change"


def fingerprint(settings: Settings, salt: str) -> str:
    """A hash of every setting delivery depends on (the password included, never stored as such)."""
    material = json.dumps(
        [
            settings.mail_transport,
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_security,
            settings.smtp_user,
            settings.smtp_password,
            str(settings.smtp_ca_file or ""),
            settings.mail_from,
            settings.bounce_address,
            settings.coordinator_email,
            str(settings.outbox_dir),
        ]
    )
    return hashlib.pbkdf2_hmac("sha256", material.encode(), salt.encode(), ROUNDS).hex()[:40]


def _recorded(app: App) -> tuple[dict[str, Any] | None, str]:
    with app.ledger.read() as s:
        found = meta.get_json(s, meta.MAIL_SETUP)
        salt = meta.get(s, meta.LEDGER_ID) or ""
    return (found if isinstance(found, dict) else None), salt


def problem(app: App) -> dict[str, Any] | None:
    """The recorded setup problem when the mail settings are still those it happened with: ``error`` (its one
    line), ``login`` (a refused login: delivery is paused), ``at``."""
    found, salt = _recorded(app)
    if found is None or found.get("fingerprint") != fingerprint(app.settings, salt):
        return None
    return found


def check(app: App) -> bool:
    """Before a run: raise the recorded line when a refused login paused delivery and nothing changed since.
    Returns whether a setup problem is recorded (the run forgets it once the setup works)."""
    found, salt = _recorded(app)
    if found is None:
        return False
    if found.get("login") and found.get("fingerprint") == fingerprint(app.settings, salt):
        raise SetupError(f"{found.get('error')}; {PAUSED}", login=True)
    return True


def remember(app: App, exc: SetupError) -> None:
    """Keep the problem that stopped this run (not when the ledger cannot be written: the run's error stays)."""
    if str(exc).endswith(PAUSED):
        return
    try:
        with app.ledger.write() as s:
            salt = meta.ledger_id(s)
            record = {
                "error": str(exc),
                "login": bool(getattr(exc, "login", False)),
                "fingerprint": fingerprint(app.settings, salt),
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            meta.put(s, meta.MAIL_SETUP, json.dumps(record))
    except Exception:  # a full disk, a read-only ledger: the run's own error is what the user is told
        log.info("could not record the mail setup problem in the ledger")


def forget(app: App) -> None:
    try:
        with app.ledger.write() as s:
            meta.drop(s, meta.MAIL_SETUP)
    except Exception:  # tried again after the next run that works
        log.info("could not clear the mail setup problem in the ledger")
