"""``apscn db backup FILE``: a consistent copy of a SQLite ledger while others write, into a new owner-only file,
checked before it takes its name; on PostgreSQL, the ``pg_dump`` command to use instead."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url

from apscn_tracker.errors import UserError
from apscn_tracker.redact import redact_url
from apscn_tracker.services.app import App
from apscn_tracker.services.db.common import sqlite_file


def pg_dump_hint(url: str) -> str:
    return (
        "the ledger is on PostgreSQL: back it up with the server's own tool, e.g. "
        f"`pg_dump --format=custom --file apscn.dump '{libpq_url(url)}'` (password from PGPASSWORD or "
        "~/.pgpass; restore with pg_restore)"
    )


def libpq_url(url: str) -> str:
    """The URL as pg_dump takes it: no SQLAlchemy driver name, no password."""
    try:
        u = make_url(url)
    except Exception:
        return "postgresql://USER@HOST/DATABASE"
    query = {k: v for k, v in u.query.items() if "pass" not in k.lower()}  # password, sslpassword
    bare = URL.create("postgresql", username=u.username, host=u.host, port=u.port, database=u.database, query=query)
    return redact_url(bare.render_as_string(hide_password=False))


def backup(app: App, *, dest: Path, force: bool = False) -> dict[str, Any]:
    """Copy the SQLite ledger with SQLite's online backup (a consistent copy while others write), into a new
    owner-only file; the copy is checked, then renamed into place, so ``dest`` is never half-written."""
    settings = app.settings
    if not settings.is_sqlite:
        raise UserError(pg_dump_hint(settings.url))
    source = sqlite_file(settings.url)
    if source is None or not source.is_file():
        raise UserError(f"no ledger at {source or settings.url}; `apscn init` creates it")
    dest = dest.expanduser()
    if dest.is_dir():
        raise UserError(f"{dest} is a folder; give the name of the backup file, like {dest / 'apscn-backup.db'}")
    if not dest.parent.is_dir():
        raise UserError(f"folder {dest.parent} does not exist")
    if dest.exists() and not force:
        raise UserError(f"{dest} already exists; choose another name, or add --force to replace it")
    try:
        if dest.resolve() == source.resolve():
            raise UserError("the backup file cannot be the ledger itself")
    except OSError:
        pass
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # owner-only from the first byte
        os.close(fd)
        src = sqlite3.connect(str(source), timeout=60)
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst)
            # one self-contained file (no -wal beside it), checked before it takes the name
            dst.execute("PRAGMA journal_mode=DELETE").fetchone()
            verdict = dst.execute("PRAGMA integrity_check").fetchone()[0]
            if verdict != "ok":
                raise UserError(f"the copy failed its integrity check ({verdict}); the ledger itself may be damaged")
            revision = _scalar(dst, "SELECT version_num FROM alembic_version")
            events = _scalar(dst, "SELECT count(*) FROM event")
        finally:
            dst.close()
            src.close()
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
        _fsync_dir(dest.parent)
    except sqlite3.Error as exc:
        raise UserError(f"backup failed: {_sqlite_reason(exc)}; nothing was written to {dest}") from None
    except OSError as exc:
        raise UserError(f"backup failed: {exc.strerror or exc}; nothing was written to {dest}") from None
    finally:
        for leftover in [tmp] + [tmp.with_name(tmp.name + x) for x in ("-journal", "-wal", "-shm")]:
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
    return {
        "backup": str(dest),
        "bytes": dest.stat().st_size,
        "revision": revision,
        "events": events,
        "restore": f"stop the scheduler, then copy {dest.name} over {source} (and delete {source.name}-wal, "
        f"{source.name}-shm)",
    }


def _scalar(conn: sqlite3.Connection, sql: str) -> Any:
    try:
        row = conn.execute(sql).fetchone()
    except sqlite3.Error:
        return None
    return row[0] if row else None


def _sqlite_reason(exc: sqlite3.Error) -> str:
    message = str(exc)
    lowered = message.lower()
    if "full" in lowered or "too large" in lowered:
        return "the disk is full"
    if "disk i/o error" in lowered:
        return "the copy could not be written (a full disk, or a file size limit?)"
    if "readonly" in lowered or "permission" in lowered or "unable to open" in lowered:
        return f"the folder cannot be written ({message})"
    return message


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
