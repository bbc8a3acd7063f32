"""The tick's batch path gives the same messages as the one-at-a-time path: contexts read through ``Prefetched``
(a few set-based queries per batch) render exactly what ``Lookup`` (a query per question) renders, and the batch
insert writes each key once."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from apscn_tracker.ledger.models import Outbox
from apscn_tracker.mail.kinds import EMAIL_KINDS
from apscn_tracker.mail.outbox import insert_many, outbox_values
from apscn_tracker.mail.render import Rendered
from apscn_tracker.services.lookup import Prefetched
from apscn_tracker.services.messages import render_message
from tests.support.mail import (
    ENABLED,
    FAILED_EXTRA,
    LAPSED,
    NO_CONTACT,
    NOW,
    OVERDUE,
    SCRIPTED,
    TODAY,
    build_scenario,
    ids,
    mail_settings,
)

LEAS = (ENABLED, OVERDUE, LAPSED, NO_CONTACT, SCRIPTED)
ABOUT_DISTRICT = sorted(k.name for k in EMAIL_KINDS.values() if k.about_district)


@pytest.fixture
def app(make_app):
    a = make_app(TODAY, **mail_settings())
    build_scenario(a)
    return a


def _render_all(app, look_for):
    out = {}
    known = {lea: ids(app, lea) for lea in LEAS}
    with app.ledger.write() as s:
        look = look_for(s)
        for lea in LEAS:
            district_id, vendor_id = known[lea]
            for kind in ABOUT_DISTRICT:
                for year in (2026, 2027):
                    extra = dict(FAILED_EXTRA) if kind == "delivery_failed" else None
                    rendered, who, _ = render_message(
                        s,
                        app,
                        kind=kind,
                        district_id=district_id,
                        vendor_id=vendor_id,
                        school_year=year,
                        extra=extra,
                        look=look,
                    )
                    out[(lea, kind, year)] = (rendered, who)
    return out


@pytest.mark.parametrize("batch", ["all", "some", "none"])
def test_it_renders_every_kind_the_same_from_a_prefetched_batch(app, batch):
    everyone = [ids(app, lea)[0] for lea in LEAS]
    in_batch = {"all": everyone, "some": everyone[:2], "none": []}[batch]  # the rest is looked up one by one
    one_by_one = _render_all(app, lambda s: None)
    prefetched = _render_all(app, lambda s: Prefetched(s, district_ids=in_batch, years=(2026, 2027)))
    assert prefetched == one_by_one
    assert len(one_by_one) == len(LEAS) * len(ABOUT_DISTRICT) * 2


def test_it_reads_a_batch_in_a_few_queries_whatever_its_size(app):
    from sqlalchemy import event

    everyone = [ids(app, lea)[0] for lea in LEAS]
    with app.ledger.write() as s:
        seen: list[str] = []
        engine = s.get_bind()
        listener = lambda *args: seen.append(args[2])  # noqa: E731 (conn, cursor, statement, ...)
        event.listen(engine, "before_cursor_execute", listener)
        try:
            look = Prefetched(s, district_ids=everyone * 3, years=(2026, 2027))
            for district_id in everyone:
                look.district(district_id), look.contacts(district_id)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
    selects = [sql for sql in seen if sql.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 5  # vendors, districts, contacts, connections, renewals


def _values(key: str) -> dict:
    return outbox_values(
        key=key,
        kind="renewal_reminder",
        to=["a@b.example"],
        rendered=Rendered(subject="Hi", text="Hi\n", html="<p>Hi</p>\n"),
        now=NOW,
        mail_from="tracker@coop.example",
    )


def test_it_inserts_a_batch_once_and_skips_the_keys_already_queued(app):
    with app.ledger.write() as s:
        first = insert_many(s, [_values("k1"), _values("k2")])
    with app.ledger.write() as s:
        second = insert_many(s, [_values("k2"), _values("k3")])
        assert insert_many(s, []) == {}
    assert sorted(first) == ["k1", "k2"] and list(second) == ["k3"]
    assert len({*first.values(), *second.values()}) == 3
    with app.ledger.write() as s:
        assert s.scalar(select(func.count()).select_from(Outbox)) == 3
        stored = {o.key: o.id for o in s.scalars(select(Outbox))}
    assert stored == {**first, **second}
