"""``apscn init``: create or upgrade the ledger, seed Xello and the bundled roster; ``--demo`` adds a year."""

from __future__ import annotations

import os
import re
import tomllib
import unicodedata
from dataclasses import replace
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlmodel import col

from apscn_tracker.domain.schoolyear import SchoolYear
from apscn_tracker.errors import UserError
from apscn_tracker.ledger import queries as q
from apscn_tracker.ledger.models import Event, Renewal
from apscn_tracker.resources import data_dir
from apscn_tracker.services import connections, districts, link_key, renewals, roster, vendors
from apscn_tracker.services.app import App
from apscn_tracker.services.tick import hold

BUNDLED_ROSTER = "arkansas-lea-roster.csv"
DEMO_SCENARIO = "demo-scenario.toml"


def write_example_config(app: App, *, coordinator: str | None = None) -> bool:
    """Leave an owner-only ``config.toml`` (the commented example) where there is none. True if written.

    ``coordinator`` (the demo's) is written as the coordinator address."""
    target = app.settings.config_file
    if target.exists():
        return False
    text = (data_dir() / "config.example.toml").read_text(encoding="utf-8")
    if coordinator:
        text = re.sub(r"(?m)^# coordinator_email = .*$", f'coordinator_email = "{coordinator}"', text)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    return True


def init(app: App, *, demo: bool = False, hold_reminders: bool = False) -> dict[str, Any]:
    """``hold_reminders``: a new ledger starts with district reminders held until `apscn reminders start` (the
    command's choice; ``--demo`` never holds them). A ledger that had districts already keeps its state."""
    app.settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
    ledger = app.create_ledger()  # the only place a ledger is created; applies migrations; first: a refusal
    demo_coordinator = _demo_spec()["coordinator_email"] if demo else None  # leaves no config.toml behind
    config_written = write_example_config(app, coordinator=demo_coordinator)
    if config_written and demo_coordinator:  # the demo's emails go to its (reserved .example) coordinator
        app.settings = replace(app.settings, coordinator_email=app.settings.coordinator_email or demo_coordinator)
    seeded = vendors.ensure_xello(app)
    result = roster.apply_roster(app, roster=roster.read_roster(data_dir() / BUNDLED_ROSTER), origin=BUNDLED_ROSTER)
    if hold_reminders and not demo and result["added"] == result["districts"]:  # nothing was there: a new ledger
        with app.ledger.write() as s:
            hold.set_hold(s, app, held=True, note="a new ledger: record what districts already did, then start")
    out: dict[str, Any] = {
        "ledger": app.settings.url if not app.settings.database_url else "database url",
        "dialect": ledger.dialect,
        "xello_seeded": seeded,
        "config_written": config_written,
        "roster": {k: result[k] for k in ("added", "updated", "unchanged")},
        "link_key": link_key.ensure_key(app.settings),  # signs the links in district emails (owner-only)
        "already": not seeded and not result["added"],  # a second `init`: the ledger was ready
    }
    if demo:
        out["demo"] = {} if _demo_built(app) else build_demo(app)
        with app.ledger.write() as s:
            if hold.held_on(s, app.today):
                hold.set_hold(s, app, held=False, note="demo")
    with app.ledger.read() as s:
        out["reminders_held"] = hold.held_on(s, app.today)
    return out


def _demo_built(app: App) -> bool:
    """Whether ``init --demo`` ran here before (its requests carry the note "demo"): a second run changes nothing."""
    with app.ledger.read() as s:
        return bool(s.scalar(select(func.count()).select_from(Event).where(col(Event.note) == "demo")))


def _demo_spec() -> dict[str, Any]:
    return tomllib.loads((data_dir() / DEMO_SCENARIO).read_text(encoding="utf-8"))


def _slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z]+", ".", ascii_name).strip(".")


def build_demo(app: App) -> dict[str, Any]:
    """A realistic school year around ``app.today``: every status of the README's "Statuses" table appears."""
    with app.ledger.read() as s:
        if s.scalar(select(func.count()).select_from(Renewal).where(col(Renewal.requested_on).is_not(None))):
            raise UserError("this ledger already has requests; build the demo in an empty APSCN_HOME")
    spec = _demo_spec()
    vendors.edit_vendor(
        app, name="Xello", onboarding_email=spec["onboarding_email"], onboarding_name=spec["onboarding_name"]
    )
    cal, today = app.calendar, app.today
    current, previous = SchoolYear.of(today), SchoolYear.of(today).previous
    counts: dict[str, int] = {}
    for entry in spec["districts"]:
        lea, scenario = entry["lea"], entry["scenario"]
        if entry.get("contact"):
            who = entry["contact"]
            districts.edit_district(
                app,
                lea=lea,
                add_emails=[f"{_slug(who)}@{lea}.k12.example"],
                contact_name=who,
                contact_role="Data coordinator",
                note="demo",
            )
        if scenario == "scripted":
            connections.connect(app, lea=lea, vendor="Xello", method="sftp", course_planning=True)
            counts[scenario] = counts.get(scenario, 0) + 1
            continue
        connections.connect(app, lea=lea, vendor="Xello", method="api")
        _last_year(app, lea, previous, late=scenario in ("late", "lapsed"))
        _this_year(app, lea, scenario, current, cal, today)
        counts[scenario] = counts.get(scenario, 0) + 1
    return counts


def _record(app: App, lea: str, sy: SchoolYear, req: date, ena: date | None, conf: date | None) -> None:
    year = sy.label
    renewals.record_request(app, lea=lea, year=year, on=req, note="demo")
    if ena is not None and ena <= app.today:
        renewals.record_enabled(app, lea=lea, year=year, on=ena)
        if conf is not None and conf <= app.today:
            renewals.record_confirmed(app, lea=lea, year=year, on=conf)


def _last_year(app: App, lea: str, sy: SchoolYear, *, late: bool) -> None:
    """Last year: renewed (on time or late), then cut by DIS on June 30."""
    cal = app.calendar
    req = cal.on_or_after(date(sy.start, 7, 20) if late else date(sy.start, 6, 2))
    ena = cal.add_working_days(req, 14 if late else 8)
    _record(app, lea, sy, req, ena, cal.add_working_days(ena, 2))
    with app.ledger.write() as s:
        d = q.get_district(s, lea=lea)
        v = q.get_vendor(s, name="Xello")
        assert d.id is not None and v.id is not None  # rows read from the ledger have their ids
        c = q.find_connection(s, district_id=d.id, vendor_id=v.id)
        assert c is not None and c.id is not None  # connected, then requested by the caller
        r = q.find_renewal(s, connection_id=c.id, school_year=sy.start)
        assert r is not None
        r.disconnected_on = sy.ends
        q.add_event(
            s,
            kind="disconnected",
            actor="scheduler",
            district_id=d.id,
            vendor_id=v.id,
            school_year=sy.start,
            effective_on=sy.ends,
            note="annual June 30 disconnect (demo)",
        )


def _this_year(app: App, lea: str, scenario: str, sy: SchoolYear, cal, today: date) -> None:
    back = lambda n: max(sy.begins, cal.add_working_days(today, -n))  # noqa: E731
    if scenario == "lapsed":
        return
    if scenario == "confirmed_early":
        req = cal.on_or_after(date(sy.start, 6, 1))
        ena = cal.add_working_days(req, 7)
        _record(app, lea, sy, req, ena, cal.add_working_days(ena, 1))
    elif scenario == "confirmed":
        req = back(30)
        ena = cal.add_working_days(req, 9)
        _record(app, lea, sy, req, ena, cal.add_working_days(ena, 3))
    elif scenario == "late":
        req = back(28)
        ena = cal.add_working_days(req, 15)
        _record(app, lea, sy, req, ena, cal.add_working_days(ena, 4))
    elif scenario == "enabled":
        req = back(14)
        _record(app, lea, sy, req, cal.add_working_days(req, 8), None)
    elif scenario == "overdue":
        _record(app, lea, sy, back(13), None, None)
    elif scenario == "requested":
        _record(app, lea, sy, back(3), None, None)
    else:
        raise UserError(f"{DEMO_SCENARIO}: unknown scenario {scenario!r}")
