"""Two whole school years and a bit, one tick a day, on a realistic roster: every email that goes out, on which
day, exactly once, and nothing for work already done or for a year past its cut.

From April 1, 2026 (the end of 2025-26) to July 15, 2028 (the start of 2028-29), the tick runs every morning
at 07:00-08:00 in Arkansas (13:00 UTC, frozen by freezegun), after the coordinator records what happened that
day. The districts (real LEA codes from the bundled roster, fictional contacts):

=========  =========================================================================================
0101000    early: renews each year before any reminder is due, enabled on time, details sent at once (the
           coordinator first types the wrong request date, and records the enabling twice: undone)
0104000    late: renews 2026-27 on June 22 (after three reminders), enabled late, then never renews
           2027-28 or 2028-29
0401000    never: no request in 2026-27, 2027-28 or 2028-29 (every renewal reminder; lapsed notices weekly
           through July, then every four weeks until the cut: 15 a year)
0505000    overdue: requests June 1 (after two reminders), enabled seven weeks later, details never sent;
           2028-29 requested after the first reminder
1612000    scripted: SFTP upload, no APSCN request, no reminder ever
2906000    retired: the connection is retired on June 1, 2026; nothing after that
4003000    no contact: renews 2026-27 early; in 2027 its reminders go to the coordinator to forward (a
           2027-28 request recorded by mistake in March is undone the same day); lapsed in 2027-28, it asks for
           2028-29 in July 2027: its 2027-28 lapsed notices go on until the cut
4605000    details late: enabled on time, details sent a week after (one reminder; its date corrected)
5605000    joins mid-year: connected September 1, 2026 (lapsed: the missed notice of August 19 that day),
           requests two days later; in 2028 it requests on June 20, past the cut of 2027-28, without a year:
           the request is for 2028-29
=========  =========================================================================================

The corrections and undos happen before that day's tick and draw no email. The renewal rows the tick and the
coordinator leave must equal what their events replay to (``domain.projection.fold``), field by field.

Every date below was worked out by hand on a printed calendar: June 30, 2026 is a Tuesday; July 3, 2026 is
Independence Day observed; Memorial Day is May 25, 2026 and May 31, 2027. The cut of 2026-27 is June 17, 2027;
of 2027-28, Saturday June 17, 2028 (June 30, 2028 is a Friday; a request on the weekend counts from Monday).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time
from sqlalchemy import select
from sqlmodel import col

from apscn_tracker.domain.projection import DATE_FIELDS, EVENT_KINDS, fold
from apscn_tracker.ledger.models import Connection, District, Event, Outbox, Renewal, TickRun
from apscn_tracker.services import connections, districts, renewals
from apscn_tracker.services.setup import init
from apscn_tracker.services.tick import tick

D = date
FIRST, LAST = D(2026, 4, 1), D(2028, 7, 15)
COORDINATOR = "coordinator@coop.example"
CHICAGO = ZoneInfo("America/Chicago")


def lapsed(year: int, cut: date) -> list[date]:
    """July 1, 8, 15, 22 of ``year``, then every 28 days, before ``cut``."""
    out, day = [D(year, 7, 1), D(year, 7, 8), D(year, 7, 15), D(year, 7, 22)], D(year, 8, 19)
    while day < cut:
        out.append(day)
        day += timedelta(days=28)
    return out


RENEWAL_2026 = [D(2026, 5, 1), D(2026, 5, 31), D(2026, 6, 16), D(2026, 6, 23), D(2026, 6, 29)]
RENEWAL_2027 = [D(2027, 5, 1), D(2027, 5, 31), D(2027, 6, 16), D(2027, 6, 23), D(2027, 6, 29)]
RENEWAL_2028 = [D(2028, 5, 1), D(2028, 5, 31), D(2028, 6, 16), D(2028, 6, 23), D(2028, 6, 29)]
LAPSED_2026_27 = lapsed(2026, D(2027, 6, 17))  # ... Apr 28, May 26, 2027: 15
LAPSED_2027_28 = lapsed(2027, D(2028, 6, 17))  # ... Mar 2 (over Feb 29), Mar 30, Apr 27, May 25, 2028: 15
LAPSED_JULY_2028 = [D(2028, 7, 1), D(2028, 7, 8), D(2028, 7, 15)]

# (kind, lea) -> the days it goes out, each exactly once
EXPECTED: dict[tuple[str, str], list[date]] = {
    # 0101000 early: nothing at all
    ("renewal_reminder", "0104000"): [D(2026, 5, 1), D(2026, 5, 31), D(2026, 6, 16), *RENEWAL_2027, *RENEWAL_2028],
    # requested June 22, 2026: expected by July 7 (July 3 is a holiday), enabled July 10
    ("activation_overdue", "0104000"): [D(2026, 7, 8)],
    ("lapsed_notice", "0104000"): [*LAPSED_2027_28, *LAPSED_JULY_2028],
    ("renewal_reminder", "0401000"): [*RENEWAL_2026, *RENEWAL_2027, *RENEWAL_2028],
    ("lapsed_notice", "0401000"): [*LAPSED_2026_27, *LAPSED_2027_28, *LAPSED_JULY_2028],
    ("renewal_reminder", "0505000"): [D(2026, 5, 1), D(2026, 5, 31), D(2027, 5, 1), D(2028, 5, 1)],
    # requested June 1, expected June 15; then every 5 working days until enabled on July 20
    ("activation_overdue", "0505000"): [D(2026, 6, 16), D(2026, 6, 23), D(2026, 6, 30), D(2026, 7, 8), D(2026, 7, 15)],
    # enabled July 20: 2 working days later, then every 5, at most 3
    ("send_details_reminder", "0505000"): [D(2026, 7, 22), D(2026, 7, 29), D(2026, 8, 5)],
    ("renewal_reminder", "2906000"): [D(2026, 5, 1), D(2026, 5, 31)],
    ("renewal_reminder", "4003000"): RENEWAL_2027,
    # 2028-29 requested July 20, 2027: 2027-28 stays lapsed, and its notices go on until its cut
    ("lapsed_notice", "4003000"): LAPSED_2027_28,
    ("renewal_reminder", "4605000"): [D(2026, 5, 1), D(2027, 5, 1), D(2027, 5, 31), D(2028, 5, 1), D(2028, 5, 31)],
    # enabled May 26, 2026 (on time): a reminder on May 28, confirmed June 3 before the next one
    ("send_details_reminder", "4605000"): [D(2026, 5, 28)],
    # connected September 1: the missed notice of August 19 catches up that day (the next, September 16, is
    # 15 days away); requested September 3
    ("lapsed_notice", "5605000"): [D(2026, 9, 1)],
    ("renewal_reminder", "5605000"): [D(2028, 5, 1), D(2028, 5, 31), D(2028, 6, 16)],
}
REMINDER_DAYS = sorted({d for days in EXPECTED.values() for d in days})
EXPECTED_ALL = {
    **EXPECTED,
    ("coordinator_digest", None): REMINDER_DAYS,  # once on every day a reminder went out, never otherwise
    ("report_ready", None): [D(2026, 7, 1), D(2027, 7, 1), D(2028, 7, 1)],
}
# the renewals of 2025-26, then those of 2026-27, then those of 2027-28
DISCONNECTED = {D(2026, 7, 1): 7, D(2027, 7, 1): 6, D(2028, 7, 1): 5}


def script(app) -> dict[date, list]:
    """What the coordinator records, day by day (before that day's tick)."""
    req = lambda lea, year, on: lambda: renewals.record_request(app, lea=lea, year=year, on=on)  # noqa: E731
    ena = lambda lea, year, on: lambda: renewals.record_enabled(app, lea=lea, year=year, on=on)  # noqa: E731
    conf = lambda lea, year, on: lambda: renewals.record_confirmed(app, lea=lea, year=year, on=on)  # noqa: E731
    fix = lambda lea, year, **change: lambda: renewals.correct(app, lea=lea, year=year, note="typo", **change)  # noqa: E731
    steps: list[tuple[date, object]] = [
        # 0101000 early (a request date typed wrong, then fixed; an enabling recorded twice, the first undone)
        (D(2026, 4, 20), req("0101000", "2026-27", D(2026, 4, 17))),
        (D(2026, 4, 20), fix("0101000", "2026-27", requested_on=D(2026, 4, 20))),
        (D(2026, 4, 30), ena("0101000", "2026-27", D(2026, 4, 29))),
        (D(2026, 4, 30), fix("0101000", "2026-27", undo="enable")),
        (D(2026, 4, 30), ena("0101000", "2026-27", D(2026, 4, 30))),
        (D(2026, 5, 1), conf("0101000", "2026-27", D(2026, 5, 1))),
        (D(2027, 4, 19), req("0101000", "2027-28", D(2027, 4, 19))),
        (D(2027, 4, 29), ena("0101000", "2027-28", D(2027, 4, 29))),
        (D(2027, 4, 30), conf("0101000", "2027-28", D(2027, 4, 30))),
        (D(2028, 4, 17), req("0101000", "2028-29", D(2028, 4, 17))),
        (D(2028, 4, 27), ena("0101000", "2028-29", D(2028, 4, 27))),
        (D(2028, 4, 28), conf("0101000", "2028-29", D(2028, 4, 28))),
        # 0104000 late
        (D(2026, 6, 22), req("0104000", "2026-27", D(2026, 6, 22))),
        (D(2026, 7, 10), ena("0104000", "2026-27", D(2026, 7, 10))),
        (D(2026, 7, 13), conf("0104000", "2026-27", D(2026, 7, 13))),
        # 0505000 overdue, details never sent; next year requested after the first reminder
        (D(2026, 6, 1), req("0505000", "2026-27", D(2026, 6, 1))),
        (D(2026, 7, 20), ena("0505000", "2026-27", D(2026, 7, 20))),
        (D(2027, 5, 10), req("0505000", "2027-28", D(2027, 5, 10))),
        (D(2027, 5, 20), ena("0505000", "2027-28", D(2027, 5, 20))),
        (D(2027, 5, 21), conf("0505000", "2027-28", D(2027, 5, 21))),
        (D(2028, 5, 10), req("0505000", "2028-29", D(2028, 5, 10))),
        (D(2028, 5, 22), ena("0505000", "2028-29", D(2028, 5, 22))),
        (D(2028, 5, 23), conf("0505000", "2028-29", D(2028, 5, 23))),
        # 2906000 retired
        (D(2026, 6, 1), lambda: connections.retire(app, lea="2906000", note="moved to another vendor")),
        # 4003000 no contact; a 2027-28 request recorded for the wrong district, undone at once
        (D(2026, 4, 6), req("4003000", "2026-27", D(2026, 4, 6))),
        (D(2026, 4, 16), ena("4003000", "2026-27", D(2026, 4, 16))),
        (D(2026, 4, 17), conf("4003000", "2026-27", D(2026, 4, 17))),
        (D(2027, 3, 1), req("4003000", "2027-28", D(2027, 3, 1))),
        (D(2027, 3, 1), fix("4003000", "2027-28", undo="request")),
        (D(2027, 7, 20), req("4003000", "next", D(2027, 7, 20))),  # 2028-29, while 2027-28 is lapsed
        (D(2027, 7, 30), ena("4003000", "2028-29", D(2027, 7, 30))),
        (D(2027, 8, 2), conf("4003000", "2028-29", D(2027, 8, 2))),
        # 4605000 details late; 2027-28 requested after two reminders, details sent in time
        (D(2026, 5, 11), req("4605000", "2026-27", D(2026, 5, 11))),
        (D(2026, 5, 26), ena("4605000", "2026-27", D(2026, 5, 26))),
        (D(2026, 6, 3), conf("4605000", "2026-27", D(2026, 6, 3))),
        (D(2026, 6, 3), fix("4605000", "2026-27", confirmed_on=D(2026, 6, 2))),  # sent last evening
        (D(2027, 6, 1), req("4605000", "2027-28", D(2027, 6, 1))),
        (D(2027, 6, 14), ena("4605000", "2027-28", D(2027, 6, 14))),
        (D(2027, 6, 15), conf("4605000", "2027-28", D(2027, 6, 15))),
        (D(2028, 6, 1), req("4605000", "2028-29", D(2028, 6, 1))),
        (D(2028, 6, 12), ena("4605000", "2028-29", D(2028, 6, 12))),
        (D(2028, 6, 13), conf("4605000", "2028-29", D(2028, 6, 13))),
        # 5605000 joins mid-year
        (D(2026, 9, 1), lambda: join(app, "5605000", "Gail Moss")),
        (D(2026, 9, 3), req("5605000", "2026-27", D(2026, 9, 3))),
        (D(2026, 9, 16), ena("5605000", "2026-27", D(2026, 9, 16))),
        (D(2026, 9, 17), conf("5605000", "2026-27", D(2026, 9, 17))),
        (D(2027, 4, 26), req("5605000", "2027-28", D(2027, 4, 26))),
        (D(2027, 5, 6), ena("5605000", "2027-28", D(2027, 5, 6))),
        (D(2027, 5, 7), conf("5605000", "2027-28", D(2027, 5, 7))),
        (D(2028, 6, 20), req("5605000", None, D(2028, 6, 20))),  # past the cut of 2027-28: for 2028-29
        (D(2028, 7, 5), ena("5605000", None, D(2028, 7, 5))),  # the one open step
        (D(2028, 7, 6), conf("5605000", None, D(2028, 7, 6))),
    ]
    by_day: dict[date, list] = {}
    for day, step in steps:
        by_day.setdefault(day, []).append(step)
    return by_day


def join(app, lea: str, name: str | None, method: str = "api") -> None:
    if name:
        email = f"{name.split()[0].lower()}@{lea}.k12.example"
        districts.edit_district(app, lea=lea, add_emails=[email], contact_name=name, contact_role="Data coordinator")
    connections.connect(app, lea=lea, vendor="Xello", method=method, course_planning=method == "sftp")


def roster(app) -> None:
    """April 1, 2026: the districts, and last year's (2025-26) renewals, all done on time."""
    init(app)
    for lea, name, method in [
        ("0101000", "Pat Reyes", "api"),
        ("0104000", "Jordan Lee", "api"),
        ("0401000", "Sam O'Neil", "api"),
        ("0505000", "Alex Kim", "api"),
        ("1612000", "Chris Park", "sftp"),
        ("2906000", "Dana White", "api"),
        ("4003000", None, "api"),
        ("4605000", "Fran Diaz", "api"),
    ]:
        join(app, lea, name, method)
        if method == "api":
            renewals.record_request(app, lea=lea, year="2025-26", on=D(2025, 6, 2))
            renewals.record_enabled(app, lea=lea, year="2025-26", on=D(2025, 6, 12))
            renewals.record_confirmed(app, lea=lea, year="2025-26", on=D(2025, 6, 13))


def live_the_year(make_app, monkeypatch) -> tuple[object, float]:
    """The roster on April 1, 2026, then every day to July 15, 2027: what the coordinator records, then the
    tick. Returns the app and the seconds the days took."""
    monkeypatch.setenv("APSCN_COORDINATOR_EMAIL", COORDINATOR)
    monkeypatch.setenv("APSCN_MAIL_FROM", "APSCN Tracker <tracker@coop.example>")
    app = make_app(FIRST)
    with freeze_time(f"{FIRST.isoformat()} 12:00:00"):
        roster(app)
    steps = script(app)
    started = time.monotonic()
    day = FIRST
    while day <= LAST:
        with freeze_time(f"{day.isoformat()} 13:00:00"):
            app.today = day
            for step in steps.pop(day, []):
                step()
            result = tick(app)
        assert result["disconnected"] == DISCONNECTED.get(day, 0), day
        assert result["failed"] == 0 and result["not_queued"] == 0 and not result["interrupted"], day
        day += timedelta(days=1)
    assert steps == {}
    return app, time.monotonic() - started


@pytest.mark.slow
def test_a_year_of_daily_ticks_sends_every_reminder_once_on_its_day_and_nothing_for_work_done(make_app, monkeypatch):
    app, elapsed = live_the_year(make_app, monkeypatch)

    with app.ledger.write() as s:
        rows = s.execute(
            select(Outbox.kind, District.lea_code, Outbox.created_at, Outbox.sent_at, Outbox.status, Outbox.to_addrs)
            .outerjoin(District, District.id == Outbox.district_id)
            .order_by(Outbox.id)
        ).all()
        beats = s.execute(select(TickRun.today, TickRun.ok)).all()

    def local(t) -> date:
        return (t if t.tzinfo else t.replace(tzinfo=ZoneInfo("UTC"))).astimezone(CHICAGO).date()

    sent: dict[tuple[str, str | None], list[date]] = {}
    for kind, lea, created, sent_at, status, _ in rows:
        assert status == "sent", (kind, lea, created)
        assert local(sent_at) == local(created), (kind, lea)  # delivered the day it was queued
        sent.setdefault((kind, lea), []).append(local(created))

    # exactly the expected emails, each on its day, none twice
    assert {k: sorted(v) for k, v in sent.items()} == {k: sorted(v) for k, v in EXPECTED_ALL.items()}
    assert len(rows) == sum(len(v) for v in EXPECTED_ALL.values())
    assert not any(n > 1 for n in Counter((k, lea, local(c)) for k, lea, c, *_ in rows).values())
    # work already done draws nothing: the early district and the scripted one never got an email
    assert not any(lea in ("0101000", "1612000") for _, lea, *_ in rows)
    # the district without a contact is reached through the coordinator
    assert {to for kind, lea, *_, to in rows if lea == "4003000"} == {f"APSCN coordinator <{COORDINATOR}>"}
    # one successful heartbeat per day
    assert len(beats) == (LAST - FIRST).days + 1 and all(ok for _, ok in beats)
    # the default year of 5605000's June 20, 2028 request, past the cut of 2027-28
    with app.ledger.read() as s:
        late = s.execute(
            select(Renewal.school_year, Renewal.requested_on)
            .join(Connection, col(Connection.id) == Renewal.connection_id)
            .join(District, col(District.id) == Connection.district_id)
            .where(District.lea_code == "5605000", Renewal.requested_on == D(2028, 6, 20))
        ).all()
    assert late == [(2028, D(2028, 6, 20))]
    print(f"\nwhole year: {len(beats)} ticks, {len(rows)} emails, {elapsed:.1f} s")


@pytest.mark.slow
def test_every_renewal_row_of_the_year_equals_the_replay_of_its_events_corrections_and_undos_included(
    make_app, monkeypatch
):
    app, _ = live_the_year(make_app, monkeypatch)
    with app.ledger.read() as s:
        events = s.execute(
            select(Event.district_id, Event.vendor_id, Event.school_year, Event.kind, Event.effective_on, Event.data)
            .where(col(Event.kind).in_(EVENT_KINDS))
            .order_by(col(Event.id))
        ).all()
        rows = s.execute(
            select(Connection.district_id, Connection.vendor_id, Renewal).join(
                Connection, col(Connection.id) == Renewal.connection_id
            )
        ).all()
    history: dict[tuple, list] = {}
    for did, vid, year, kind, on, data in events:
        history.setdefault((did, vid, year), []).append((kind, on, json.loads(data) if data else {}))

    replayed = 0
    for did, vid, renewal in rows:
        rebuilt = fold(history.pop((did, vid, renewal.school_year)))
        for name in DATE_FIELDS:
            assert getattr(renewal, name) == getattr(rebuilt, name), (did, renewal.school_year, name)
        replayed += 1
    assert history == {}  # no event without its renewal row
    # not hollow: every renewal of the simulation, and its corrections of each sort, went through the replay
    # 2025-26 (the retired one included), 2026-27, 2027-28 (the undone one included), 2028-29
    assert replayed == 7 + 6 + 5 + 5
    corrections = [json.loads(data) for *_, kind, _, data in events if kind == "corrected"]
    assert sorted(c.get("undo") or c["field"] for c in corrections) == [
        "confirmed_on",
        "enabled_on",
        "requested_on",
        "requested_on",
    ]
    assert sum(1 for *_, kind, _, _ in events if kind == "disconnected") == sum(DISCONNECTED.values())
