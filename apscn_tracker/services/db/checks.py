"""``apscn db check``: proof that the ledger is sound. It reads only (one snapshot: it waits for no writer and blocks
none) and applies no migration, so it reports the ledger as it is. Each check is ``ok``, ``warning`` (worth
knowing) or ``problem`` (someone must act; the command exits 1):

- ``migrations``: the ledger is at the newest migration;
- ``integrity``: SQLite's ``integrity_check`` and ``foreign_key_check``; on PostgreSQL, no invalid index;
- ``append_only``: the triggers that make the event history append-only are in place;
- ``projection`` and ``outbox``: the data checks of ``services.db.consistency``;
- ``permissions`` (SQLite): the ledger, its WAL files and the outbox are readable by their owner only.
"""

from __future__ import annotations

import stat
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic.script import Script, ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from apscn_tracker.config import Settings
from apscn_tracker.errors import UserError
from apscn_tracker.ledger.db import HEAD, MIGRATIONS, Ledger, LedgerError, current_revision, open_ledger
from apscn_tracker.services.app import App
from apscn_tracker.services.db.common import LISTED, OK, PROBLEM, WARNING, Check, sqlite_file
from apscn_tracker.services.db.consistency import outbox_check, projection_check
from apscn_tracker.services.link_key import key_file


def check(app: App, *, now: datetime | None = None) -> dict[str, Any]:
    """Run every check; ``ok`` is False when any check found a problem."""
    settings = app.settings
    now = now or datetime.now(UTC)
    if settings.is_sqlite:
        path = sqlite_file(settings.url)
        if path is not None and not path.is_file():
            raise UserError(f"no ledger at {path}; `apscn init` creates it")
    try:
        ledger = open_ledger(settings, migrate=False)
    except LedgerError as exc:
        raise UserError(str(exc)) from None
    try:
        migrations, tables_known = _migrations(ledger)
        checks = [migrations]
        if tables_known:
            with ledger.read() as s:
                checks.append(_guard("integrity", _integrity, s, ledger.dialect))
                checks.append(_guard("append_only", _append_only, s, ledger.dialect))
                checks.append(_guard("projection", projection_check, s))
                checks.append(_guard("outbox", outbox_check, s, now))
        checks.append(_permissions(settings))  # the folder's files (key, outbox, reports), on PostgreSQL too
    finally:
        ledger.dispose()
    return {
        "ok": all(c.status != PROBLEM for c in checks),
        "dialect": ledger.dialect,
        "checks": [asdict(c) for c in checks],
    }


def _guard(name: str, fn: Callable[..., Check], s: Session, *args: Any) -> Check:
    """A check that the database cannot even answer is a problem, not a traceback."""
    try:
        with s.begin_nested():  # a failed statement must not end the snapshot the next checks read
            return fn(s, *args)
    except DBAPIError as exc:
        detail = str(exc.orig).splitlines()[0] if exc.orig is not None else type(exc).__name__
        return Check(name, PROBLEM, f"the database could not answer this check: {detail}")


def _migrations(ledger: Ledger) -> tuple[Check, bool]:
    """The check, and whether the tables are ones this code knows (so the data checks can run)."""
    scripts = ScriptDirectory(str(MIGRATIONS))
    heads = scripts.get_heads()
    newest = heads[0] if len(heads) == 1 else None
    current = current_revision(ledger.engine)
    if newest is None:
        return Check(
            "migrations", PROBLEM, f"the migrations have {len(heads)} heads ({', '.join(heads)}); a bug"
        ), False
    if HEAD != newest:
        message = f"the code expects revision {HEAD} but the newest migration is {newest}; a bug"
        return Check("migrations", PROBLEM, message), current is not None
    if current is None:
        return Check("migrations", PROBLEM, "this database has no ledger tables; `apscn init` creates them"), False
    if current == newest:
        return Check("migrations", OK, f"at the newest revision ({current})"), True
    known = {s.revision for s in scripts.walk_revisions() if isinstance(s, Script)}
    if current not in known:
        message = (
            f"revision {current} is unknown to this version of apscn-tracker (newest {newest}): "
            "a newer version wrote this ledger; upgrade apscn-tracker"
        )
        return Check("migrations", PROBLEM, message), False
    # behind: any command upgrades it; the data checks still run on the tables as they are
    message = f"at revision {current}, the newest is {newest}; `apscn init` (or any command) upgrades it"
    return Check("migrations", PROBLEM, message), True


def _integrity(s: Session, dialect: str) -> Check:
    if dialect == "sqlite":
        found = [r[0] for r in s.execute(text("PRAGMA integrity_check(100)"))]
        if found != ["ok"]:
            return Check("integrity", PROBLEM, "SQLite reports a damaged database file", found[:LISTED])
        orphans = s.execute(text("PRAGMA foreign_key_check")).all()
        if orphans:
            details = [f"{table} row {rowid} points to a missing {parent}" for table, rowid, parent, _ in orphans]
            return Check("integrity", PROBLEM, f"{len(orphans)} rows point to missing rows", details[:LISTED])
        return Check("integrity", OK, "database file intact, every reference resolves")
    if dialect == "postgresql":
        bad = list(s.scalars(text("SELECT indexrelid::regclass::text FROM pg_index WHERE NOT indisvalid")))
        if bad:
            return Check("integrity", PROBLEM, f"{len(bad)} invalid indexes; REINDEX them", bad[:LISTED])
        return Check("integrity", OK, "every index valid (the server enforces the references)")
    return Check("integrity", WARNING, f"no integrity check for {dialect}")


def _append_only(s: Session, dialect: str) -> Check:
    if dialect == "sqlite":
        have = set(s.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'event'")))
        missing = sorted({"event_no_update", "event_no_delete"} - have)
    elif dialect == "postgresql":
        have = set(
            s.scalars(
                text(
                    "SELECT tgname FROM pg_trigger WHERE tgrelid = 'event'::regclass "
                    "AND NOT tgisinternal AND tgenabled <> 'D'"
                )
            )
        )
        missing = sorted({"event_append_only"} - have)
    else:
        return Check("append_only", WARNING, f"cannot tell on {dialect}")
    if missing:
        return Check(
            "append_only",
            PROBLEM,
            "the event history is not protected: trigger(s) missing or disabled",
            missing,
        )
    return Check("append_only", OK, "the event history refuses UPDATE and DELETE")


def _permissions(settings: Settings) -> Check:
    db = sqlite_file(settings.url)
    targets: list[Path] = []
    if db is not None:
        targets += [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
    targets.append(key_file(settings))  # signs the districts' links
    outbox = settings.outbox_dir
    if outbox.is_dir():
        targets.append(outbox)
        targets += sorted(outbox.glob("*.eml"))[:1000]
    reports = settings.reports_dir
    if reports.is_dir():
        targets.append(reports)
        targets += sorted(p for p in reports.rglob("*") if p.is_file())[:1000]
    open_to_others = []
    for path in targets:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            open_to_others.append(f"{path} is {oct(mode)} (fix: chmod {'700' if path.is_dir() else '600'} {path})")
    if open_to_others:
        return Check(
            "permissions",
            PROBLEM,
            f"{len(open_to_others)} file(s) or folder(s) holding contacts' emails are open to other users",
            open_to_others[:LISTED],
        )
    home = settings.home
    if home.is_dir() and stat.S_IMODE(home.stat().st_mode) & 0o077:
        return Check(
            "permissions",
            WARNING,
            f"ledger, outbox and reports are owner-only, but other users can list {home} (chmod 700 {home})",
        )
    return Check("permissions", OK, "ledger, outbox and reports readable by their owner only")
