"""The one-scheduler-per-ledger lock, and a read-only probe of who holds it (``apscn doctor``).

SQLite: a non-blocking ``flock`` on ``scheduler.lock`` beside the ledger file; the file keeps the holder's pid.
PostgreSQL: a session-level ``pg_try_advisory_lock`` held by a dedicated connection for the scheduler's lifetime
(the server frees it the moment that connection dies). A second scheduler gets ``SchedulerLocked``.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from apscn_tracker.config import Settings
from apscn_tracker.errors import UserError
from apscn_tracker.ledger.db import make_engine

LOCK_FILE = "scheduler.lock"
# The PostgreSQL advisory lock key: a fixed 63-bit number derived from the product name.
PG_LOCK_KEY = int.from_bytes(hashlib.sha256(b"apscn-tracker scheduler").digest()[:8], "big") >> 1


class SchedulerLocked(UserError):
    """Another scheduler holds the ledger's lock."""


def lock_path(settings: Settings) -> Path:
    """``scheduler.lock`` beside the SQLite file (in APSCN_HOME unless APSCN_DATABASE_URL names a file)."""
    if settings.database_url:
        db = Path(settings.url.split("///", 1)[1]) if "///" in settings.url else settings.db_path
        return db.parent / f"{db.name}.{LOCK_FILE}"
    return settings.home / LOCK_FILE


class FileLock:
    """A non-blocking ``flock``; the file keeps the holder's pid for the message of a second scheduler."""

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise SchedulerLocked(
                f"another scheduler is running (pid {holder}) on this ledger ({self.path}); "
                "stop it first, or leave it running"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        os.fsync(fd)
        self._fd = fd

    def check(self) -> bool:
        return self._fd is not None

    def holder(self) -> str | None:
        """The pid of the scheduler holding the lock, None when nobody holds it (a read-only probe)."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return os.read(fd, 64).decode(errors="replace").strip() or "unknown"
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)

    def release(self) -> None:
        if self._fd is None:
            return
        os.ftruncate(self._fd, 0)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None


class PgAdvisoryLock:
    """A session-level advisory lock, held by a dedicated connection for the scheduler's lifetime."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._conn: Connection | None = None

    def acquire(self) -> None:
        conn = self.engine.connect()
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": PG_LOCK_KEY}).scalar()
        conn.commit()
        if not got:
            holder = conn.execute(
                text(
                    "SELECT a.pid, a.client_addr, a.application_name FROM pg_locks l "
                    "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
                    "AND l.granted AND ((l.classid::bigint << 32) | l.objid::bigint) = :k"
                ),
                {"k": PG_LOCK_KEY},
            ).first()
            conn.close()
            where = f"server backend pid {holder[0]}, client {holder[1] or 'local'}" if holder else "unknown"
            raise SchedulerLocked(f"another scheduler is running on this PostgreSQL ledger ({where}); stop it first")
        self._conn = conn

    def check(self) -> bool:
        """The lock lives as long as its connection: False when that connection is gone."""
        if self._conn is None:
            return False
        try:
            self._conn.execute(text("SELECT 1")).scalar()
            self._conn.commit()
            return True
        except Exception:
            return False

    def release(self) -> None:
        if self._conn is None:
            return
        try:
            self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": PG_LOCK_KEY})
            self._conn.commit()
        except Exception:  # the connection is gone: so is the lock
            pass
        finally:
            self._conn.close()
            self._conn = None


def make_lock(settings: Settings, engine: Engine | None = None) -> FileLock | PgAdvisoryLock:
    if settings.is_sqlite:
        return FileLock(lock_path(settings))
    if engine is None:
        engine = make_engine(settings.url)
    return PgAdvisoryLock(engine)


def scheduler_holder(settings: Settings) -> str | None:
    """The pid of the scheduler running on this SQLite ledger, None when none runs (a read-only probe: it takes
    no lock a scheduler would miss). PostgreSQL ledgers are not probed: None."""
    if not settings.is_sqlite:
        return None
    return FileLock(lock_path(settings)).holder()
