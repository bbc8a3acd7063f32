"""``apscn doctor``: is the loop alive, is mail flowing, can every reminder reach someone, is the setup sound?

Two levels. ``fail`` is what stops the reminders (the loop has not run, mail cannot be sent, the ledger is
unsound): any makes the command exit 1, for cron or monitoring. ``warn`` is listed and exits 0 (districts without
a contact, a placeholder sender). ``ok`` and ``info`` say what was seen.

Each check is one small function registered with its level (``doctor_check``), run in the order registered;
it returns ``fine(message)`` or ``problem(message, details)``, and the problem takes the check's level.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from shlex import quote
from typing import Any

from sqlalchemy import func, select

from apscn_tracker.addresses import address_problem
from apscn_tracker.config import ConfigError, Settings
from apscn_tracker.ledger.models import Outbox
from apscn_tracker.ledger.scheduler_lock import scheduler_holder
from apscn_tracker.mail import setup_state as mail_setup
from apscn_tracker.mail.message import HeaderError, check_sender
from apscn_tracker.mail.outbox import counts
from apscn_tracker.mail.owners import CLAIM_TIMEOUT, abandoned, gone
from apscn_tracker.mail.render import template_problems
from apscn_tracker.mail.transports import login_problem
from apscn_tracker.services.app import App
from apscn_tracker.services.db.checks import check as db_check
from apscn_tracker.services.digest import districts_without_contact
from apscn_tracker.services.doctor_registry import (
    CHECKS,
    FAIL,
    INFO,
    OK,
    WARN,
    Check,
    doctor_check,
    fine,
    problem,
    run_entry,
)
from apscn_tracker.services.doctor_registry import run_check as run_check  # the checks registered here
from apscn_tracker.services.send_hour import check_send_hour
from apscn_tracker.services.tick.heartbeat import last_tick
from apscn_tracker.services.tick.hold import status as hold_status

TICK_MAX_AGE = timedelta(hours=26)  # a daily tick plus slack for a slow run or a late start
STUCK_TICK = timedelta(hours=1)  # a tick started this long ago and not finished has died
DELIVERY_LAG = timedelta(minutes=30)  # a due message this late means delivery is not running
LISTED = 20  # names listed per check
PLACEHOLDER_DOMAINS = ("example", "example.com", "example.org", "example.net", "invalid", "test", "localhost")


def _ago(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours < 1:
        return f"{int(delta.total_seconds() // 60)} minutes ago"
    if hours < 48:
        return f"{hours:.0f} hours ago"
    return f"{hours / 24:.0f} days ago"


@doctor_check("send hour", level=FAIL, ledger=False)
def send_hour_check(app: App, now: datetime) -> Check:
    try:
        check_send_hour(app.settings)
    except ConfigError as exc:
        return problem(str(exc))
    return fine(f"daily tick at {app.settings.send_hour:02d}:00 {app.settings.timezone}")


@doctor_check("mail setup", level=FAIL, ledger=False)
def mail_setup_check(app: App, now: datetime) -> Check:
    """What stops every email: a sender that cannot be sent, an SMTP login that cannot work, broken templates."""
    settings = app.settings
    problems: list[str] = []
    try:
        check_sender(settings)
    except HeaderError as exc:
        problems.append(str(exc))
    if settings.mail_transport == "smtp":
        if settings.smtp_user and not settings.smtp_password:
            problems.append("smtp_user is set but APSCN_SMTP_PASSWORD is not: the SMTP login will fail")
        problems.extend(p for p in [login_problem(settings.smtp_user, settings.smtp_password)] if p)
    problems.extend(_template_problems(settings))
    if problems:
        return problem(f"{len(problems)} problem(s) stop the mail", problems)
    return fine(f"mail by {settings.mail_transport}, from {settings.mail_from}")


@doctor_check("configuration", level=WARN, ledger=False)
def configuration_check(app: App, now: datetime) -> Check:
    """What works but should be set: the coordinator, a real sender address, a password kept off the wire."""
    settings = app.settings
    problems: list[str] = []
    if not settings.coordinator_email:
        problems.append(
            "coordinator_email is not set: no coordinator digest, no activation_overdue notice, and the reminders "
            "of districts without a contact reach nobody (`apscn config set coordinator_email ADDRESS`)"
        )
    for key, value in (("mail_from", settings.mail_from), ("coordinator_email", settings.coordinator_email)):
        if value and _placeholder(value):
            problems.append(
                f"{key} {value!r} is a placeholder address: replies and bounces go nowhere "
                f"(`apscn config set {key} ...`)"
            )
    if settings.mail_transport == "smtp" and settings.smtp_security == "none" and settings.smtp_user:
        problems.append("smtp_security is 'none' with a login: the password would cross the network in clear")
    if problems:
        return problem(f"{len(problems)} setting(s) to look at", problems)
    return fine(f"coordinator {settings.coordinator_email}")


def _placeholder(address: str) -> bool:
    domain = address.rsplit("@", 1)[-1].strip(" >").lower()
    return any(domain == d or domain.endswith("." + d) for d in PLACEHOLDER_DOMAINS)


def _template_problems(settings: Settings) -> list[str]:
    """Every email kind's templates, as rendering finds them (the coordinator's folder, then the bundled one)."""
    if settings.templates_dir is not None and not settings.templates_dir.is_dir():
        return [f"templates_dir {settings.templates_dir} does not exist"]
    return template_problems(settings.templates_dir)


@doctor_check("tick", level=FAIL)
def tick_check(app: App, now: datetime) -> Check:
    last = last_tick(app)
    good = last_tick(app, ok_only=True)
    if last is None:
        return problem(
            "the daily tick has never run: start `apscn scheduler run`, or schedule `apscn tick` (cron, systemd timer)"
        )
    unfinished = last["finished_at"] is None
    runner = (last.get("counts") or {}).get("running") if unfinished else None
    recent = good is not None and now - good["finished_at"] <= TICK_MAX_AGE
    if unfinished and (gone(runner) or now - last["started_at"] > STUCK_TICK):
        how = "was killed before it finished" if gone(runner) else "never finished: it died"
        what = f"the tick started {_ago(now - last['started_at'])} (for {last['today']}) {how}; the next run catches up"
        return problem(what, level="" if not recent else WARN)
    if unfinished and good is None:
        return Check("", INFO, f"the first tick is running (started {_ago(now - last['started_at'])})")
    if last["finished_at"] is not None and not last["ok"]:
        return problem(f"the last tick (for {last['today']}) failed: {last['error']}")
    assert good is not None  # the latest run is ok, or a run after an ok one is still going
    age = now - good["finished_at"]
    counts = good.get("counts") or {}
    what = f"last tick {_ago(age)} for {good['today']}"
    if counts:
        queued = sum((counts.get("queued") or {}).values())
        what += f" (queued {queued}, sent {counts.get('sent', 0)}, failed {counts.get('failed', 0)})"
    if counts.get("delivery_error"):
        return problem(f"{what}; its delivery failed: {counts['delivery_error']}")
    if age > TICK_MAX_AGE:
        return problem(f"{what}: more than {TICK_MAX_AGE.total_seconds() / 3600:.0f} hours; is the scheduler running?")
    return fine(what)


@doctor_check("outbox", level=FAIL)
def outbox_checks(app: App, now: datetime) -> list[Check]:
    """Failed messages (warn), due messages not going out and messages out of tries (fail), sends cut short."""
    table = Outbox.__table__
    box = table.c
    checks: list[Check] = []
    with app.ledger.read() as s:
        by_status = counts(s)
        failed = s.execute(
            select(box.id, box.kind, box.to_addrs, box.last_error)
            .where(box.status == "failed")
            .order_by(box.id.desc())
            .limit(LISTED)
        ).all()
        oldest_due = s.scalar(select(func.min(box.next_attempt_at)).where(box.status == "pending"))
        held = s.execute(
            select(box.id, box.claimed_by, box.claimed_at).where(box.status == "sending").order_by(box.id)
        ).all()
        tired = int(
            s.scalar(
                select(func.count())
                .select_from(table)
                .where(box.status.in_(("pending", "sending")), box.attempts >= app.settings.max_attempts)
            )
            or 0
        )
    summary = ", ".join(f"{n} {k}" for k, n in by_status.items())
    if by_status["failed"]:
        checks.append(
            Check(
                "failed messages",
                WARN,
                f"{by_status['failed']} message(s) failed for good: "
                "`apscn outbox show ID`, fix, `apscn outbox retry ID`",
                [f"#{i} {kind} to {to}: {err}" for i, kind, to, err in failed],
            )
        )
    if oldest_due is not None and now - oldest_due > DELIVERY_LAG:
        checks.append(
            Check(
                "pending messages",
                FAIL,
                f"{by_status['pending']} message(s) waiting, the oldest due {_ago(now - oldest_due)}: "
                "delivery is not running or the mail server refuses (`apscn outbox list --status pending`)",
            )
        )
    stuck = [(i, by, why) for i, by, at in held if (why := abandoned(by, at, now))]
    if stuck:
        gone = sum(1 for *_, why in stuck if why == "gone")
        checks.append(
            Check(
                "interrupted sends",
                WARN,
                f"{len(stuck)} message(s) left in 'sending' by a sender that stopped ({gone} whose process on this "
                f"host is gone, {len(stuck) - gone} claimed over {CLAIM_TIMEOUT.seconds // 60} minutes ago); the "
                "next delivery sends them again with the same Message-ID (`apscn outbox retry ID` puts one back now)",
                [
                    f"#{i} held by {by or 'unknown'}: "
                    + ("its process is gone" if why == "gone" else "its claim timed out")
                    for i, by, why in stuck[:LISTED]
                ],
            )
        )
    if tired:
        checks.append(
            Check(
                "retries",
                FAIL,
                f"{tired} message(s) still not delivered after {app.settings.max_attempts} tries; they stay queued",
            )
        )
    if not checks:
        checks.append(Check("outbox", OK, summary or "empty"))
    else:
        checks.append(Check("outbox", INFO, summary))
    return checks


@doctor_check("contacts", level=WARN)
def contact_check(app: App, now: datetime) -> Check:
    with app.ledger.read() as s:
        found = districts_without_contact(s)
    if not found:
        return fine("every district with a connection has a contact")
    names = [f"{d['lea']} {d['name']}" for d in found]
    return problem(
        f"{len(found)} district(s) with a connection have no contact: their reminders go to the coordinator to "
        "forward (`apscn district edit LEA --add-email ADDRESS`)",
        names[:LISTED] + ([f"... and {len(names) - LISTED} more"] if len(names) > LISTED else []),
    )


@doctor_check("addresses", level=WARN)
def address_check(app: App, now: datetime) -> Check:
    """The stored addresses that cannot receive mail (``addresses``): contacts and Onboarding Managers entered
    before addresses were checked where they come in. Reminders skip them."""
    from apscn_tracker.ledger.models import Contact, District, Vendor

    contact, district, vendor = Contact.__table__.c, District.__table__.c, Vendor.__table__.c
    found: list[str] = []
    with app.ledger.read() as s:
        rows = s.execute(
            select(district.lea_code, contact.email)
            .join_from(Contact.__table__, District.__table__, contact.district_id == district.id)
            .order_by(district.lea_code, contact.email)
        )
        for lea, email in rows:
            why = address_problem(email)
            if why:
                found.append(f"{lea} contact {email}: {why}; `apscn district edit {lea} --remove-email {quote(email)}`")
        for name, email in s.execute(select(vendor.name, vendor.onboarding_email).order_by(vendor.name)):
            why = address_problem(email) if email else None
            if why:
                fix = f"`apscn vendor edit {quote(name)} --onboarding-email ADDRESS`"
                found.append(f"{name} onboarding manager {email}: {why}; {fix}")
    if not found:
        return fine("every stored address can receive mail")
    return problem(
        f"{len(found)} stored address(es) cannot receive mail: nothing is sent to them; replace or remove them",
        found[:LISTED] + ([f"... and {len(found) - LISTED} more"] if len(found) > LISTED else []),
    )


SOUND = ("migrations", "integrity", "append_only", "projection")  # `db check`'s checks a reminder depends on


@doctor_check("ledger soundness", level=FAIL)
def soundness_check(app: App, now: datetime) -> list[Check]:
    """``apscn db check``: an unsound ledger (integrity, migrations, the events and the renewals they make) fails;
    its other findings (the outbox's rows, file permissions) warn."""
    result = db_check(app, now=now)
    found = [c for c in result["checks"] if c["status"] == "problem"]
    bad = [f"{c['name']}: {c['message']}" for c in found if c["name"] in SOUND]
    other = [f"{c['name']}: {c['message']}" for c in found if c["name"] not in SOUND]
    out = [problem(f"{len(bad)} problem(s) in the ledger: `apscn db check` lists them", bad)] if bad else []
    if other:
        out.append(Check("ledger upkeep", WARN, f"`apscn db check` found {len(other)} problem(s)", other))
    return out or [fine("integrity, migrations, and the renewals rebuilt from their events agree (`apscn db check`)")]


@doctor_check("scheduler", level=WARN)
def scheduler_check(app: App, now: datetime) -> Check:
    settings = app.settings
    if not settings.is_sqlite:
        return Check("", INFO, "PostgreSQL ledger: the scheduler holds an advisory lock while it runs")
    pid = scheduler_holder(settings)
    if pid is not None:
        return Check("", INFO, f"a scheduler is running (pid {pid})")
    return Check("", INFO, "no scheduler is running (fine when cron or a timer runs the tick)")


@doctor_check("mail delivery", level=FAIL)
def mail_delivery_check(app: App, now: datetime) -> Check:
    """Fails at once with the line of the mail setup problem that stopped delivery (a login refused, a
    certificate not trusted ...), while the mail settings are those it happened with."""
    found = mail_setup.problem(app)
    if found is None:
        return fine("no mail setup problem recorded for these settings")
    paused = f"; {mail_setup.PAUSED}" if found.get("login") else ""
    return problem(f"{found.get('error')}{paused}")


@doctor_check("reminders", level=WARN)
def reminder_hold_check(app: App, now: datetime) -> Check:
    """A warning while district reminders are held (a new ledger, or `apscn reminders pause`): nothing is wrong,
    but districts are not being reminded."""
    r = hold_status(app)
    if not r["held"]:
        return fine("district reminders are running")
    until = f" until {r['until']}" if r["until"] else ""
    return problem(
        f"district reminders are held{until}: {r['due_today']} would go out today; `apscn reminders start` sends them"
    )


def doctor(app: App, *, now: datetime | None = None) -> dict[str, Any]:
    """Every registered check; ``ok`` is False when any fails."""
    now = now or datetime.now(UTC)
    checks = [c for entry in CHECKS if not entry.ledger for c in run_entry(entry, app, now)]
    try:
        app.ledger  # noqa: B018  (opens it, applies pending migrations; refused where there is none)
    except Exception as exc:  # the ledger cannot be opened: nothing else can be checked
        checks.append(Check("ledger", FAIL, str(exc).splitlines()[0]))
        return _result(checks, now)
    if app.ledger.full_disk:
        what = "its disk is full: it can be read, no change can be recorded (the tick neither); free some space"
        checks.append(Check("ledger", FAIL, what))
    else:
        checks.append(Check("ledger", OK, f"{app.ledger.dialect} ledger open, schema up to date"))
    checks.extend(c for entry in CHECKS if entry.ledger for c in run_entry(entry, app, now))
    return _result(checks, now)


def config_failure(exc: Exception, *, now: datetime | None = None) -> dict[str, Any]:
    """The result when the configuration cannot even be loaded."""
    return _result([Check("configuration", FAIL, str(exc))], now or datetime.now(UTC))


def _result(checks: list[Check], now: datetime) -> dict[str, Any]:
    return {
        "ok": not any(c.status == FAIL for c in checks),
        "warnings": sum(1 for c in checks if c.status == WARN),
        "checked_at": now.isoformat(timespec="seconds"),
        "checks": [asdict(c) for c in checks],
    }
