"""The key that signs the links in district emails (``services.links``): ``APSCN_SECRET_KEY`` when set, else
``$APSCN_HOME/secret.key`` (owner-only, made by ``apscn init`` or by the first email that needs it). ``apscn keys
rotate`` writes a new one and records the old one's id, so every link signed before is refused as withdrawn.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from apscn_tracker.config import Settings
from apscn_tracker.domain import links as dl
from apscn_tracker.errors import InputError, UserError
from apscn_tracker.ledger import queries as q
from apscn_tracker.ledger.models import Event
from apscn_tracker.services.app import App

KEY_FILE = "secret.key"
KEY_ENV = "APSCN_SECRET_KEY"
ROTATED = "link_key_rotated"


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


def retired_keys(session: Session) -> frozenset[bytes]:
    rows = session.scalars(select(col(Event.data)).where(col(Event.kind) == ROTATED))
    return frozenset(bytes.fromhex(json.loads(d)["retired"]) for d in rows if d)
