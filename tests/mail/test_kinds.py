"""The registry of email kinds: one entry per kind, consistent with the reminder rules, with its templates in
place and renderable with the context a preview gives it; the template check names whatever is missing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from apscn_tracker.domain.reminders import REMINDER_KINDS
from apscn_tracker.errors import UserError
from apscn_tracker.mail.kinds import EMAIL_KINDS, TICK_KINDS, Role, Trigger, email_kind, names, on_demand
from apscn_tracker.mail.render import bundled_dir, check_kind, render, template_problems
from apscn_tracker.services.message_context import message_context
from tests.support.mail import SUBJECT_OF, TODAY, build_scenario, ids, mail_settings

KINDS = list(EMAIL_KINDS)


def test_the_kinds_of_the_reminder_rules_are_the_rules_of_the_domain():
    assert names(Trigger.REMINDER_RULE) == REMINDER_KINDS


def test_the_tick_queues_the_reminders_the_digest_and_the_yearly_report():
    assert TICK_KINDS == (*REMINDER_KINDS, "coordinator_digest", "report_ready")


def test_every_kind_has_a_plain_name_recipients_a_trigger_and_a_summary():
    assert len(KINDS) == 10 and len(set(KINDS)) == 10
    assert set(names()) == set(KINDS) == set(SUBJECT_OF)
    for kind in EMAIL_KINDS.values():
        assert check_kind(kind.name) == kind.name
        assert kind.to and kind.summary and isinstance(kind.trigger, Trigger)
        assert kind.templates == (f"{kind.name}.subject.txt", f"{kind.name}.body.txt", f"{kind.name}.body.html")


def test_a_kind_is_about_one_district_exactly_when_the_district_is_addressed():
    for kind in EMAIL_KINDS.values():
        assert kind.about_district == (Role.DISTRICT in kind.roles), kind.name


def test_the_kinds_sent_on_demand_name_their_connection_route():
    assert names(Trigger.ON_DEMAND) == ("request_form", "powerschool_activation", "upload_complete")
    assert {k: EMAIL_KINDS[k].method for k in names(Trigger.ON_DEMAND)} == {
        "request_form": "api",
        "powerschool_activation": "api",
        "upload_complete": "sftp",
    }
    assert all(k.method is None for k in EMAIL_KINDS.values() if k.trigger is not Trigger.ON_DEMAND)


def test_an_unknown_kind_or_one_not_sent_on_demand_is_refused_with_the_choices():
    with pytest.raises(UserError, match="unknown email kind 'birthday_card'; kinds: renewal_reminder"):
        email_kind("birthday_card")
    with pytest.raises(UserError, match="sendable: request_form, powerschool_activation, upload_complete"):
        on_demand("lapsed_notice")
    assert on_demand("upload_complete") is EMAIL_KINDS["upload_complete"]


def test_a_sample_context_is_a_fresh_copy_each_time():
    first = EMAIL_KINDS["report_ready"].sample_context()
    first["summary"]["districts"] = 99
    assert EMAIL_KINDS["report_ready"].sample_context()["summary"]["districts"] == 0


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_with_its_previewable_context(make_app, kind):
    app = make_app(TODAY, **mail_settings())
    build_scenario(app)
    entry = EMAIL_KINDS[kind]
    assert entry.previewable
    district_id, vendor_id = ids(app, SUBJECT_OF[kind])
    with app.ledger.read() as s:
        ctx = message_context(
            s, app, kind=kind, district_id=district_id, vendor_id=vendor_id, extra=entry.sample_context()
        )
    rendered = render(kind, ctx)
    assert rendered.subject and rendered.text.strip() and "</html>" in rendered.html
    assert "None" not in rendered.subject + rendered.text + rendered.html


def test_the_bundled_templates_have_no_problem():
    assert template_problems(None) == []


@pytest.fixture
def bundled_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "bundled"
    shutil.copytree(bundled_dir(), copy)
    return copy


@pytest.mark.parametrize("kind", KINDS)
def test_the_template_check_names_a_missing_template_of_any_kind(bundled_copy, kind):
    for name in EMAIL_KINDS[kind].templates[1:]:
        (bundled_copy / name).unlink()
    assert template_problems(None, bundled=bundled_copy) == [
        f"email templates missing: {kind}.body.txt, {kind}.body.html"
    ]


def test_the_template_check_follows_layouts_and_parts(bundled_copy):
    (bundled_copy / "_base.body.txt").unlink()
    (bundled_copy / "_request_form.body.html").unlink()
    assert template_problems(None, bundled=bundled_copy) == [
        "email templates missing: _base.body.txt, _request_form.body.html"
    ]


def test_the_template_check_reads_the_coordinators_folder_first(tmp_path: Path, bundled_copy):
    own = tmp_path / "own"
    own.mkdir()
    (bundled_copy / "report_ready.subject.txt").unlink()  # the coordinator's own copy stands in for it
    (own / "report_ready.subject.txt").write_text("Report {{ school_year.label }}\n")
    (own / "delivery_failed.body.txt").write_text('{% extends "_base.body.txt" %}\n{% block content %}\n{% if %}\n')
    (own / "upload_complete.body.html").write_text('{% include "_ours.body.html" %}\n')
    assert template_problems(own, bundled=bundled_copy) == [
        "email templates missing: _ours.body.html",
        f"template {own / 'delivery_failed.body.txt'}, line 3: Expected an expression, got 'end of statement block'",
    ]
    assert template_problems(tmp_path / "nowhere") == [
        f"templates folder {tmp_path / 'nowhere'} does not exist; create it or unset templates_dir"
    ]
