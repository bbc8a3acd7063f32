"""``apscn db backup FILE`` and ``apscn db check``: a copy of the ledger, and proof that it is sound.

The check reads only (one snapshot: it waits for no writer and blocks none) and applies no migration, so it
reports the ledger as it is. Each check is ``ok``, ``warning`` (worth knowing) or ``problem`` (someone must
act; the command exits 1):

- ``integrity``: SQLite's ``integrity_check`` and ``foreign_key_check``; on PostgreSQL, no invalid index;
- ``append_only``: the triggers that make the event history append-only are in place;
- ``migrations``: the ledger is at the newest migration;
- ``projection``: the dates of every renewal, rebuilt from its events (``domain.projection.fold``), equal the
  stored ones, and no event speaks of a renewal that has no row;
- ``outbox``: every message is in a known state, every ``sent`` one has its ``message_sent`` event (exactly
  one: a message is never marked sent twice), none is left in ``sending`` longer than the claim timeout;
- ``permissions`` (SQLite): the ledger, its WAL files and the outbox are readable by their owner only.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import stat
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from apscn_tracker.errors import UserError
from apscn_tracker.redact import redact_url
from apscn_tracker.services.app import App

OK, WARNING, PROBLEM = "ok", "warning", "problem"
LISTED = 20  # details listed per check


@dataclass
class Check:
    name: str
    status: str
    message: str
    details: list[str] = field(default_factory=list)


# -- backup ----------------------------------------------------------------------------------------------------


def pg_dump_hint(url: str) -> str:
    return (
        "the ledger is on PostgreSQL: back it up with the server's own tool, e.g. "
        f"`pg_dump --format=custom --file apscn.dump '{libpq_url(url)}'` (password from PGPASSWORD or "
        "~/.pgpass; restore with pg_restore)"
    )


def libpq_url(url: str) -> str:
    """The URL as pg_dump takes it: no SQLAlchemy driver name, no password."""
    from sqlalchemy.engine import URL, make_url

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
    source = _sqlite_file(settings.url)
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


def _sqlite_file(url: str) -> Path | None:
    path = url.split("///", 1)[1] if "///" in url else ""
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    return Path(path.split("?", 1)[0])


# -- check -----------------------------------------------------------------------------------------------------


def check(app: App, *, now: datetime | None = None) -> dict[str, Any]:
    """Run every check; ``ok`` is False when any check found a problem."""
    from apscn_tracker.ledger.db import LedgerError, open_ledger

    settings = app.settings
    now = now or datetime.now(UTC)
    if settings.is_sqlite:
        path = _sqlite_file(settings.url)
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
                checks.append(_guard("projection", _projection, s))
                checks.append(_guard("outbox", _outbox, s, now))
        if settings.is_sqlite:
            checks.append(_permissions(settings))
    finally:
        ledger.dispose()
    return {
        "ok": all(c.status != PROBLEM for c in checks),
        "dialect": ledger.dialect,
        "checks": [asdict(c) for c in checks],
    }


def _guard(name: str, fn: Any, s: Any, *args: Any) -> Check:
    """A check that the database cannot even answer is a problem, not a traceback."""
    from sqlalchemy.exc import DBAPIError

    try:
        with s.begin_nested():  # a failed statement must not end the snapshot the next checks read
            return fn(s, *args)
    except DBAPIError as exc:
        detail = str(exc.orig).splitlines()[0] if exc.orig is not None else type(exc).__name__
        return Check(name, PROBLEM, f"the database could not answer this check: {detail}")


def _migrations(ledger: Any) -> tuple[Check, bool]:
    """The check, and whether the tables are ones this code knows (so the data checks can run)."""
    from alembic.script import Script, ScriptDirectory

    from apscn_tracker.ledger.db import HEAD, MIGRATIONS, current_revision

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


def _integrity(s: Any, dialect: str) -> Check:
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


def _append_only(s: Any, dialect: str) -> Check:
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


def _projection(s: Any) -> Check:
    """Fold the events of every renewal and compare with its row: one query for the events, one for the rows."""
    from apscn_tracker.domain.projection import DATE_FIELDS, EVENT_KINDS, fold
    from apscn_tracker.domain.schoolyear import SchoolYear
    from apscn_tracker.ledger.models import Connection, District, Event, Renewal, Vendor

    ev, conn, ren = Event.__table__.c, Connection.__table__.c, Renewal.__table__.c
    dist, vend = District.__table__.c, Vendor.__table__.c
    history: dict[tuple[int, int, int], list[tuple[str, date | None, dict[str, Any]]]] = defaultdict(list)
    bad_data: list[str] = []
    stmt = (
        select(ev.id, ev.district_id, ev.vendor_id, ev.school_year, ev.kind, ev.effective_on, ev.data)
        .where(
            ev.kind.in_(EVENT_KINDS),
            ev.district_id.is_not(None),
            ev.vendor_id.is_not(None),
            ev.school_year.is_not(None),
        )
        .order_by(ev.id)
    )
    for eid, did, vid, year, kind, on, data in s.execute(stmt):
        try:
            payload = json.loads(data) if data else {}
        except ValueError:
            bad_data.append(f"event {eid} ({kind}): data is not JSON")
            continue
        history[(did, vid, year)].append((kind, on, payload))
    rows = s.execute(
        select(conn.district_id, conn.vendor_id, ren.school_year, *(ren[f] for f in DATE_FIELDS)).join_from(
            Renewal.__table__, Connection.__table__, conn.id == ren.connection_id
        )
    ).all()
    names = {
        **{("d", i): code for i, code in s.execute(select(dist.id, dist.lea_code))},
        **{("v", i): name for i, name in s.execute(select(vend.id, vend.name))},
    }

    def label(did: int, vid: int, year: int) -> str:
        return f"{names.get(('d', did), did)} {names.get(('v', vid), vid)} {SchoolYear(year).label}"

    differ: list[str] = []
    seen: set[tuple[int, int, int]] = set()
    for did, vid, year, *stored in rows:
        key = (did, vid, year)
        seen.add(key)
        try:
            rebuilt = fold(history.get(key, [])).as_tuple()
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            differ.append(f"{label(*key)}: its events cannot be replayed ({type(exc).__name__}: {exc})")
            continue
        for name, have, want in zip(DATE_FIELDS, stored, rebuilt, strict=True):
            if have != want:
                differ.append(f"{label(*key)}: {name} is {_iso(have)}, the events say {_iso(want)}")
    for key, events in history.items():
        if key in seen:
            continue
        try:
            replayable = any(v is not None for v in fold(events).as_tuple())
        except (KeyError, TypeError, ValueError, AttributeError):
            replayable = True  # unreadable events without a row: worth a look all the same
        if replayable:
            differ.append(f"{label(*key)}: {len(events)} events but no renewal row")
    found = bad_data + differ
    if found:
        return Check(
            "projection",
            PROBLEM,
            f"{len(found)} renewal(s) differ from their event history",
            found[:LISTED] + ([f"... and {len(found) - LISTED} more"] if len(found) > LISTED else []),
        )
    return Check(
        "projection",
        OK,
        f"{len(rows)} renewals rebuilt from {sum(len(v) for v in history.values())} events: all equal",
    )


def _iso(value: Any) -> str:
    return value.isoformat() if value is not None else "empty"


def _outbox(s: Any, now: datetime) -> Check:
    from apscn_tracker.ledger.models import Event, Outbox
    from apscn_tracker.mail.delivery import CLAIM_TIMEOUT

    ob, ev = Outbox.__table__.c, Event.__table__.c
    problems: list[str] = []
    warnings: list[str] = []
    by_status = dict(s.execute(select(ob.status, func.count()).group_by(ob.status)).all())
    unknown = {k: n for k, n in by_status.items() if k not in ("pending", "sending", "sent", "failed")}
    problems.extend(f"{n} message(s) in unknown state {k!r}" for k, n in unknown.items())
    no_date = s.scalar(select(func.count()).where(ob.status == "sent", ob.sent_at.is_(None)))
    if no_date:
        problems.append(f"{no_date} message(s) marked sent without a sent_at time")
    marks: dict[int, int] = defaultdict(int)
    for (data,) in s.execute(select(ev.data).where(ev.kind == "message_sent")):
        try:
            oid = json.loads(data or "{}").get("outbox_id")
        except ValueError:
            oid = None
        if isinstance(oid, int):
            marks[oid] += 1
    twice = sorted(oid for oid, n in marks.items() if n > 1)
    if twice:
        problems.append(f"message(s) recorded as sent more than once: {', '.join(map(str, twice[:LISTED]))}")
    sent_ids = set(s.scalars(select(ob.id).where(ob.status == "sent")))
    unrecorded = sorted(sent_ids - set(marks))
    if unrecorded:
        problems.append(
            f"message(s) marked sent with no message_sent event: {', '.join(map(str, unrecorded[:LISTED]))}"
        )
    ghosts = sorted(set(marks) - sent_ids)
    if ghosts:
        problems.append(f"message_sent event(s) for messages not marked sent: {', '.join(map(str, ghosts[:LISTED]))}")
    limit = now - CLAIM_TIMEOUT
    stuck = []
    for oid, claimed_at, by in s.execute(select(ob.id, ob.claimed_at, ob.claimed_by).where(ob.status == "sending")):
        at = claimed_at.replace(tzinfo=UTC) if claimed_at is not None and claimed_at.tzinfo is None else claimed_at
        if at is None or at <= limit:
            stuck.append(f"message {oid} claimed by {by or 'unknown'} at {_iso(at)}")
    if stuck:
        warnings.append(
            f"{len(stuck)} message(s) left in 'sending' by a process that stopped; the next delivery resends them "
            "with the same Message-ID"
        )
        warnings.extend(stuck[:LISTED])
    total = sum(by_status.values())
    summary = ", ".join(f"{n} {k}" for k, n in sorted(by_status.items())) or "empty"
    if problems:
        return Check("outbox", PROBLEM, f"{len(problems)} outbox problem(s) ({summary})", problems + warnings)
    if warnings:
        return Check("outbox", WARNING, warnings[0], warnings[1:])
    return Check("outbox", OK, f"{total} messages ({summary}), each sent at most once")


def _permissions(settings: Any) -> Check:
    db = _sqlite_file(settings.url)
    targets: list[Path] = []
    if db is not None:
        targets += [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
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
