"""The engine, its SQLite settings, migrations on start, and the session helper."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

if TYPE_CHECKING:
    from apscn_tracker.config import Settings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
HEAD = "0001"  # keep in step with the newest file in migrations/versions


class LedgerError(RuntimeError):
    """The ledger cannot be opened or used; the message says what to do."""


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            db = Path(path)
            db.parent.mkdir(parents=True, exist_ok=True)
            if not db.exists():
                # created owner-only before SQLite touches it (WAL/SHM files inherit the mode)
                old = os.umask(0o077)
                try:
                    db.touch(mode=0o600)
                finally:
                    os.umask(old)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        with engine.connect() as conn:
            mode = conn.exec_driver_sql("PRAGMA journal_mode=WAL").scalar()
            if path and path != ":memory:" and str(mode).lower() != "wal":
                raise LedgerError(f"could not switch {path} to WAL mode (got {mode})")
        return engine
    return create_engine(url, pool_pre_ping=True)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine) -> None:
    """Apply every pending migration (Alembic, imported only when there is work to do)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


class Ledger:
    """An open ledger: the engine plus a transaction helper. Callers own their transactions."""

    def __init__(self, engine: Engine):
        self.engine = engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commits on success, rolls back on any error."""
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def open_ledger(settings: Settings, *, migrate: bool = True) -> Ledger:
    try:
        engine = make_engine(settings.url)
        if migrate and current_revision(engine) != HEAD:
            upgrade(engine)
    except LedgerError:
        raise
    except Exception as exc:  # a path that cannot be written, a server that is down ...
        raise LedgerError(f"cannot open the ledger at {_redact(settings.url)}: {_first_line(exc)}") from None
    return Ledger(engine)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url
