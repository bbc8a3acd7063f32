"""The engine, its SQLite settings, migrations on start, and the two units of work: ``Ledger.write()`` (may
write, one at a time) and ``Ledger.read()`` (never waits for a writer), both a session.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DatabaseError, IntegrityError, OperationalError, ProgrammingError
from sqlmodel import Session

from apscn_tracker.errors import LedgerError
from apscn_tracker.ledger.models import partial_indexes
from apscn_tracker.redact import redact, redact_url

if TYPE_CHECKING:
    from apscn_tracker.config import Settings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
HEAD = "adoption"  # keep in step with the newest file in migrations/versions


# How long a unit of work waits for the one before it (SQLite busy timeout, PostgreSQL lock timeout).
BUSY_TIMEOUT_MS = int(os.environ.get("APSCN_BUSY_TIMEOUT_MS") or 60_000)
# PostgreSQL advisory locks (per database): one held by each writing transaction, one while migrating.
WRITE_LOCK_KEY = 0x61707363_6E777274  # "apscnwrt"
MIGRATION_LOCK_KEY = 0x61707363_6E6D6967  # "apscnmig"
READ_ONLY = "ledger_read_only"  # execution option: a transaction that only reads


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # The driver's own transaction handling is switched off: it would BEGIN only before the first INSERT or
    # UPDATE, so the reads of a unit of work ran outside its transaction (a lost update when two commands
    # change the same renewal at once). ``_begin`` opens every transaction instead.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _begin(conn) -> None:
    """Units of work that may write run one after another, on both databases.

    SQLite: ``BEGIN IMMEDIATE`` takes the write lock before the first read, waiting (busy timeout) while
    another process writes. Without it a unit of work read, then found its snapshot stale when it came to
    write ("database is locked", which the busy timeout does not cure), or two commands both read "not
    enabled yet" and both recorded the step. PostgreSQL (READ COMMITTED): a transaction-scoped advisory lock
    does the same, so the same checks hold there. Read-only transactions (``Ledger.read``) take neither:
    WAL and MVCC let them run beside a writer."""
    read_only = conn.get_execution_options().get(READ_ONLY, False)
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN DEFERRED" if read_only else "BEGIN IMMEDIATE")
    elif conn.dialect.name == "postgresql" and not read_only:
        conn.exec_driver_sql(_PG_WRITE_LOCK)


_PG_WRITE_LOCK = (  # one round trip: the lock, and how long to wait for it (and for rows) in this transaction
    f"DO $$ BEGIN PERFORM set_config('lock_timeout', '{BUSY_TIMEOUT_MS}', true); "
    f"PERFORM pg_advisory_xact_lock({WRITE_LOCK_KEY}); END $$"
)


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
        engine = _sqlite_engine(url)
        try:
            mode = _wal_mode(engine)
        except (OperationalError, sqlite3.OperationalError) as exc:  # the connect hook's pragmas come unwrapped
            if not (path and _no_room(exc) and _disk_full(Path(path)) and _wal_empty(Path(path))):
                raise
            engine.dispose()  # a full disk: read the file as it is, write nothing (see ``FULL_DISK``)
            engine = _sqlite_engine(f"sqlite:///file:{path}?mode=ro&immutable=1&uri=true", full_disk=True)
            mode = "wal"
        if path and path != ":memory:" and str(mode).lower() != "wal":
            raise LedgerError(f"could not switch {path} to WAL mode (got {mode})")
        partial_indexes("sqlite")
        return engine
    engine = create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "postgresql":
        event.listen(engine, "begin", _begin)
    partial_indexes(engine.dialect.name)
    return engine


FULL_DISK = "ledger_full_disk"  # execution option: opened read-only because the disk is full
_NO_ROOM = ("disk i/o error", "database or disk is full", "no space left")


def _sqlite_engine(url: str, *, full_disk: bool = False) -> Engine:
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
    event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "begin", _begin)
    return engine.execution_options(**{FULL_DISK: True}) if full_disk else engine


def _wal_mode(engine: Engine) -> str:
    raw = engine.raw_connection()  # outside any transaction: the journal mode cannot change inside one
    try:
        cur = raw.cursor()
        mode = cur.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        cur.close()
    finally:
        raw.close()
    return str(mode)


def _no_room(exc: Exception) -> bool:
    return any(words in str(getattr(exc, "orig", exc)).lower() for words in _NO_ROOM)


def _disk_full(db: Path) -> bool:
    """Whether the disk of ``db`` has no room for a reader's shared-memory file (32 KiB), with a margin."""
    st = os.statvfs(db.parent)
    return st.f_bavail * st.f_frsize < 1 << 20


def _wal_empty(db: Path) -> bool:
    """Whether every committed change is in the database file itself (no write-ahead log, or an empty one).

    Then a full disk, which leaves no room for the shared-memory file every WAL reader needs, does not stop a
    read: the file is opened ``immutable`` (no lock, no shared memory) and read as it is. A log with changes
    in it needs that shared memory, so then the ledger cannot be opened (the usual one-line error)."""
    try:
        return Path(f"{db}-wal").stat().st_size == 0
    except FileNotFoundError:
        return True


def current_revision(engine: Engine) -> str | None:
    with engine.execution_options(**{READ_ONLY: True}).connect() as conn:  # a read: no write lock
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine) -> None:
    """Apply every pending migration (Alembic, imported only when there is work to do)."""
    from alembic import command  # lazy: ~0.4 s, only when a migration is due
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # two processes starting at once: one migrates, one waits
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


_unit = threading.local()  # whether this thread is inside Ledger.write


@contextmanager
def _one_unit() -> Iterator[None]:
    """Mark this thread as inside a unit of work; refuse a second one opened inside it."""
    if getattr(_unit, "open", False):
        raise RuntimeError("a unit of work was opened inside another one; it would wait for its own lock")
    _unit.open = True
    try:
        yield
    finally:
        _unit.open = False


class Ledger:
    """An open ledger: the engine and its two units of work, ``write()`` and ``read()``; both yield a session,
    which runs ORM and Core statements alike (``session.execute``)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.full_disk = bool(engine.get_execution_options().get(FULL_DISK, False))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A unit of work that may write: commits on success, rolls back on any error.

        Units of work run one after another (see ``_begin``), each waiting up to the busy timeout for the one
        before: keep them short, and never wait on the network inside one. One opened inside another would wait
        for the lock its own thread holds: that is refused at once (a bug), rather than after the timeout.
        Core statements run through the session as well (``session.execute``). On a ledger opened read-only
        because its disk is full, refused at once in one line."""
        if self.full_disk:
            raise LedgerError(
                "the disk holding the ledger is full (no room for its shared-memory file); nothing was changed; "
                "free some space and run the command again"
            )
        with _one_unit(), Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only view that does not wait for writers (SQLite: a deferred transaction on a WAL snapshot).
        Anything written in it is rolled back."""
        session = Session(self.engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)
        session.begin()
        try:
            yield session
        finally:
            session.close()  # ends the transaction (rolled back); objects read stay loaded, detached

    def dispose(self) -> None:
        self.engine.dispose()


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for another database or an in-memory one)."""
    if not url.startswith("sqlite") or "///" not in url:
        return None
    path = url.split("///", 1)[1].split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


class NoLedger(LedgerError):
    """The folder (or database) holds no ledger: only ``apscn init`` creates one."""


def _not_a_ledger(settings: Settings, why: str) -> NoLedger:
    path = sqlite_path(settings.url)
    where = f"in {path.parent}" if path is not None else f"at {redact_url(settings.url)}"
    return NoLedger(f"no ledger {where}: {why}; run `apscn init` to create one (or point APSCN_HOME at yours)")


def require_ledger_file(settings: Settings) -> None:
    """Refuse (``NoLedger``) a SQLite ledger file that is missing or empty, before anything creates it: only
    ``init`` creates a ledger, never a mistyped APSCN_HOME. Looked at with ``stat`` only: opening and closing the
    file here would drop the POSIX locks SQLite holds on it in this process (a WAL reader's shared lock)."""
    path = sqlite_path(settings.url)
    if path is None:
        return
    if not path.parent.is_dir():
        raise _not_a_ledger(settings, "the folder does not exist")
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise _not_a_ledger(settings, f"there is no {path.name}") from None
    if size == 0 and _wal_empty(path):
        raise _not_a_ledger(settings, f"{path.name} is empty (0 bytes)")


def open_ledger(settings: Settings, *, migrate: bool = True, create: bool = False) -> Ledger:
    """Open the ledger and bring its schema to the head. Only ``create=True`` (``apscn init``) makes a new one;
    otherwise a missing, empty or foreign file or database is refused with ``NoLedger``. ``migrate=False`` (``db
    check``) opens whatever is there and changes nothing."""
    if migrate and not create and settings.is_sqlite:
        require_ledger_file(settings)
    if create and settings.is_sqlite:
        _refuse_a_foreign_sqlite_file(settings)  # before the engine: it would switch the file to WAL
    try:
        engine = make_engine(settings.url)
        if migrate:
            revision = current_revision(engine)
            if revision is None and not create:
                engine.dispose()
                raise _not_a_ledger(settings, "the database has no ledger tables")
            if revision is None and not settings.is_sqlite:
                with engine.connect() as conn:
                    others = inspect(conn).get_table_names()
                if others:
                    engine.dispose()
                    raise _others_tables(settings, others)
            if revision != HEAD:
                upgrade(engine)
    except LedgerError:
        raise
    except Exception as exc:  # a path that cannot be written, a server that is down ...
        if not create and "file is not a database" in _first_line(exc):
            path = sqlite_path(settings.url)
            raise _not_a_ledger(settings, f"{path.name if path else 'the file'} is not a SQLite database") from None
        detail = redact(_first_line(exc), url=settings.url)
        raise LedgerError(f"cannot open the ledger at {redact_url(settings.url)}: {detail}") from None
    return Ledger(engine)


def _others_tables(settings: Settings, tables: list[str]) -> LedgerError:
    """``init`` makes a ledger only in an empty database: it never adds its tables (``district``, ``event`` ...)
    to another application's, where they could meet tables of the same names."""
    path = sqlite_path(settings.url)
    where = str(path) if path is not None else redact_url(settings.url)
    names = sorted(tables)
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    fix = "APSCN_HOME at an empty folder" if path is not None else "APSCN_DATABASE_URL at an empty database"
    return LedgerError(
        f"{where} holds another application's tables ({shown}) and no ledger; nothing was changed; point {fix}"
    )


def _refuse_a_foreign_sqlite_file(settings: Settings) -> None:
    path = sqlite_path(settings.url)
    if path is None or not path.is_file() or path.stat().st_size == 0:
        return
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return  # not a database at all: opening it says so
    ours = [t for t in tables if not t.startswith("sqlite_")]
    if ours and "alembic_version" not in ours:
        raise _others_tables(settings, ours)


_HINTS = (  # (words in the driver's message, what happened, what to do); the first match wins
    (
        ("database is locked", "lock timeout"),
        f"the ledger is busy: another apscn command or the scheduler held it for over {BUSY_TIMEOUT_MS // 1000} s",
        "nothing was changed; run the command again",
    ),
    (
        ("database or disk is full", "no space left", "could not extend file"),
        "the disk holding the ledger is full",
        "the unfinished change was rolled back; free some space and run the command again",
    ),
    (
        ("readonly database", "read-only", "read only"),
        "the ledger is read-only (file or folder permissions, or a read-only disk)",
        "nothing was changed; give the user running apscn write access",
    ),
    (
        ("disk i/o error",),
        "the ledger could not be written (a full disk, or a file size limit?)",
        "the unfinished change was rolled back; free some space and run the command again",
    ),
    (
        ("malformed", "not a database"),
        "the ledger file is damaged",
        "run `apscn db check`, and restore the latest backup (`apscn db backup` makes them)",
    ),
)


def describe_db_error(exc: BaseException) -> str | None:
    """One line for a database error a user can act on (busy, disk full, read-only, damaged, unreachable), or
    None for a bug (a constraint violated, bad SQL). A unit of work that fails is rolled back whole."""
    if not isinstance(exc, OperationalError | DatabaseError) or isinstance(exc, IntegrityError | ProgrammingError):
        return None
    detail = str(exc.orig).strip().splitlines()[0] if getattr(exc, "orig", None) is not None else "unreachable"
    lowered = detail.lower()
    for words, what, todo in _HINTS:
        if any(w in lowered for w in words):
            return f"{what} ({detail}); {todo}"
    return f"the ledger could not be used ({detail}); try again, or run `apscn doctor`"


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
