"""The tick benchmark: the project's ``tick`` against the same day's work in plain ``sqlite3`` and the stdlib.

Both sides run two days on their own copy of the ledger: the first tick (nothing of the current school year is in
the outbox yet, so every due reminder is queued and delivered) and the tick of the next day (mostly nothing new).

The baseline does what the tick does, in the same order, without an ORM or templates: the rollover ``UPDATE``;
the same candidate query (every active API connection with its renewal of this and next school year); the same
pure rules (``domain.reminders.due_reminders``); the keys already in the outbox; the recipients from one read of
the contacts; bodies by ``str.format``; ``executemany`` of the outbox rows and their ``reminder_queued`` events;
the digest; then delivery like the ``file`` transport (an ``EmailMessage`` per row, written and fsynced, then the
row marked sent with a ``message_sent`` event).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

COORDINATOR = "coordinator@state.example"
MAIL_FROM = "APSCN Tracker <tracker@state.example>"


def _env(args, today: date) -> dict[str, str]:
    return {
        "APSCN_HOME": str(args.db.parent),
        "APSCN_DATABASE_URL": f"sqlite:///{args.db}",
        "APSCN_TODAY": today.isoformat(),
        "APSCN_COORDINATOR_EMAIL": COORDINATOR,
        "APSCN_MAIL_FROM": MAIL_FROM,
        "APSCN_MAIL_TRANSPORT": "file",
    }


def project_tick(args) -> dict:
    from apscn_tracker.config import load_settings
    from apscn_tracker.services.app import App
    from apscn_tracker.services.tick import tick

    out: dict = {}
    for label, day in (("first", args.today), ("next_day", args.today + timedelta(days=1))):
        t0, c0 = time.perf_counter(), time.process_time()
        app = App(load_settings(env=_env(args, day)), today=day, actor="bench")
        result = tick(app)
        out[label] = {
            "seconds": time.perf_counter() - t0,
            "cpu": time.process_time() - c0,
            "queued": sum(result["queued"].values()),
            "sent": result["sent"],
            "failed": result["failed"],
        }
        app.close()
    return {"seconds": out["first"]["seconds"], "cpu": out["first"]["cpu"], "days": out}


CANDIDATES_SQL = """
SELECT c.id, c.district_id, c.vendor_id, d.lea_code, d.name, v.name,
       r0.requested_on, r0.expected_enabled_by, r0.enabled_on, r0.confirmed_on, r0.disconnected_on,
       r1.requested_on, r1.expected_enabled_by, r1.enabled_on, r1.confirmed_on, r1.disconnected_on
FROM connection c
JOIN district d ON d.id = c.district_id
JOIN vendor v ON v.id = c.vendor_id
LEFT JOIN renewal r0 ON r0.connection_id = c.id AND r0.school_year = ?
LEFT JOIN renewal r1 ON r1.connection_id = c.id AND r1.school_year = ?
WHERE c.retired_on IS NULL AND c.method = 'api'
ORDER BY d.lea_code, v.name
"""

SUBJECT = "{lea} {district}: {kind} for {vendor}, {year}"
BODY = (
    "Hello,\n\nThis is about the APSCN eSchoolPLUS API connection of {district} ({lea}) with {vendor} for the "
    "school year {year}.\n\nWhat to do next: {todo}\n\nReminder {number}, due {milestone}.\n\nAPSCN Tracker\n"
)
TODO = {
    "renewal_reminder": "submit the APSCN: eSchoolPLUS API Request form before June 30.",
    "lapsed_notice": "the connection is down; submit the APSCN: eSchoolPLUS API Request form now.",
    "activation_overdue": "APSCN has not enabled the connection within 10 working days; ask the state.",
    "send_details_reminder": "send the API connection details to the Onboarding Manager.",
}


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def baseline_day(db, args, today: date, outdir: Path) -> dict:
    from email import policy
    from email.message import EmailMessage
    from email.utils import format_datetime

    from apscn_tracker.config import ReminderRules
    from apscn_tracker.domain.reminders import Snapshot, due_reminders
    from apscn_tracker.domain.schoolyear import SchoolYear
    from apscn_tracker.domain.workdays import StateCalendar

    cal, rules = StateCalendar(), ReminderRules()
    current = SchoolYear.of(today)
    upcoming = current.next
    d = lambda s: date.fromisoformat(s) if s else None  # noqa: E731
    db.execute("BEGIN IMMEDIATE")
    disconnected = 0
    for (start,) in db.execute(
        "SELECT DISTINCT school_year FROM renewal WHERE school_year < ? AND disconnected_on IS NULL", (current.start,)
    ).fetchall():
        ends = SchoolYear(start).ends.isoformat()
        done = db.execute(
            "UPDATE renewal SET disconnected_on = ? WHERE school_year = ? AND disconnected_on IS NULL "
            "RETURNING connection_id",
            (ends, start),
        ).fetchall()
        disconnected += len(done)
    db.execute("COMMIT")

    found = []
    for row in db.execute(CANDIDATES_SQL, (current.start, upcoming.start)):
        cid, did, vid, lea, dname, vname = row[:6]
        r0, r1 = row[6:11], row[11:16]
        snaps = [
            Snapshot(cid, current, "api", True, *(d(x) for x in r0), next_year_requested=r1[0] is not None),
        ]
        if r1[0] is not None:
            snaps.append(Snapshot(cid, upcoming, "api", True, *(d(x) for x in r1)))
        for snap in snaps:
            for due in due_reminders(snap, today=today, calendar=cal, rules=rules):
                found.append((due, did, vid, lea, dname, vname))
    keys = [f[0].key for f in found]
    queued_keys: set[str] = set()
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        marks = ",".join("?" * len(chunk))
        queued_keys.update(k for (k,) in db.execute(f"SELECT key FROM outbox WHERE key IN ({marks})", chunk))
    todo = [f for f in found if f[0].key not in queued_keys]
    contacts: dict[int, list[str]] = {}
    for did, email in db.execute("SELECT district_id, email FROM contact ORDER BY id"):
        contacts.setdefault(did, []).append(email)

    now = datetime.now(UTC)
    stamp = _ts(now)
    rows, events = [], []
    counts: Counter[str] = Counter()
    for due, did, vid, lea, dname, vname in todo:
        people = ", ".join(contacts.get(did, []))
        to, cc = (COORDINATOR, people) if due.kind == "activation_overdue" else (people or COORDINATOR, COORDINATOR)
        if due.kind == "send_details_reminder":
            cc = ""
        values = {
            "lea": lea,
            "district": dname,
            "vendor": vname,
            "year": due.school_year.label,
            "kind": due.kind.replace("_", " "),
            "todo": TODO[due.kind],
            "number": due.number,
            "milestone": due.milestone.isoformat(),
        }
        text = BODY.format(**values)
        html = "<html><body><p>" + text.replace("\n\n", "</p><p>") + "</p></body></html>"
        msgid = f"<{hashlib.sha256(due.key.encode()).hexdigest()[:24]}@apscn-tracker.state.example>"
        rows.append(
            (
                due.key,
                due.kind,
                did,
                vid,
                due.school_year.start,
                to,
                cc,
                SUBJECT.format(**values),
                text,
                html,
                msgid,
                "pending",
                0,
                stamp,
                stamp,
            )
        )
        data = json.dumps({"key": due.key, "kind": due.kind, "milestone": due.milestone.isoformat()})
        events.append(
            (
                stamp,
                today.isoformat(),
                "reminder_queued",
                did,
                vid,
                due.school_year.start,
                "scheduler",
                f"{due.kind} #{due.number} (due {due.milestone}) to {to}",
                data,
            )
        )
        counts[due.kind] += 1
    if rows:
        digest = f"coordinator_digest:{today.isoformat()}"
        rows.append(
            (
                digest,
                "coordinator_digest",
                None,
                None,
                None,
                COORDINATOR,
                "",
                f"Digest {today}",
                f"{len(todo)} reminders queued today.",
                "<p>digest</p>",
                f"<{digest}@apscn>",
                "pending",
                0,
                stamp,
                stamp,
            )
        )
    db.execute("BEGIN IMMEDIATE")
    db.executemany(
        "INSERT OR IGNORE INTO outbox (key, kind, district_id, vendor_id, school_year, to_addrs, cc_addrs, subject, "
        "body_text, body_html, message_id, status, attempts, next_attempt_at, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    db.executemany(
        "INSERT INTO event (at, effective_on, kind, district_id, vendor_id, school_year, actor, note, data) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        events,
    )
    db.execute("COMMIT")

    # delivery, like the file transport: claim, write and fsync, mark sent
    outdir.mkdir(parents=True, exist_ok=True, mode=0o700)
    due_rows = db.execute(
        "SELECT id, kind, district_id, vendor_id, school_year, to_addrs, cc_addrs, subject, body_text, body_html, "
        "message_id, created_at FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? "
        "ORDER BY next_attempt_at, id",
        (_ts(datetime.now(UTC)),),
    ).fetchall()
    sent, sent_events = [], []
    for oid, kind, did, vid, sy, to, cc, subject, text, html, msgid, created in due_rows:
        msg = EmailMessage(policy=policy.default)
        msg["From"] = MAIL_FROM
        msg["To"] = to
        if cc:
            msg["Cc"] = cc
        msg["Subject"] = subject
        msg["Date"] = format_datetime(datetime.fromisoformat(created).replace(tzinfo=UTC))
        msg["Message-ID"] = msgid
        msg["X-APSCN-Kind"] = kind
        msg.set_content(text)
        msg.add_alternative(html, subtype="html")
        data = msg.as_bytes()
        target = outdir / f"{oid}-{kind}.eml"
        tmp = outdir / f".{target.name}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        at = _ts(datetime.now(UTC))
        sent.append((at, oid))
        sent_events.append(
            (at, "message_sent", did, vid, sy, "bench", f"{kind} to {to}", json.dumps({"outbox_id": oid}))
        )
    db.execute("BEGIN IMMEDIATE")
    db.executemany("UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1 WHERE id = ?", sent)
    db.executemany(
        "INSERT INTO event (at, kind, district_id, vendor_id, school_year, actor, note, data) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        sent_events,
    )
    db.execute("COMMIT")
    return {"queued": len(rows), "sent": len(sent), "disconnected": disconnected}


def baseline_tick(args) -> dict:
    import sqlite3

    out: dict = {}
    for label, day in (("first", args.today), ("next_day", args.today + timedelta(days=1))):
        t0, c0 = time.perf_counter(), time.process_time()
        db = sqlite3.connect(args.db, isolation_level=None)
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("PRAGMA busy_timeout=30000")
        db.execute("PRAGMA synchronous=NORMAL")
        got = baseline_day(db, args, day, args.db.parent / "outbox")
        db.close()
        out[label] = {"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0, **got}
    return {"seconds": out["first"]["seconds"], "cpu": out["first"]["cpu"], "days": out}
