"""Templates: every kind renders with a full and a minimal context; HTML is escaped; overrides win."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from apscn_tracker.mail.kinds import EMAIL_KINDS
from apscn_tracker.mail.render import TemplateProblem, bundled_dir, render
from apscn_tracker.services.message_context import CONTEXT_DEFAULTS, message_context
from apscn_tracker.services.messages import render_message
from tests.support.mail import (
    ACCENTED,
    COORDINATOR,
    ENABLED,
    FAILED_EXTRA,
    LAPSED,
    NOW,
    ONBOARDING,
    SUBJECT_OF,
    TODAY,
    build_scenario,
    ids,
    mail_settings,
)

FULL_EXTRA = {
    "milestone": 30,
    "reminder_number": 2,
    "reminder_max": 3,
    "purpose": "Career planning data for Xello",
    "note": "Call me if the APSCN form changed.",
    "items": [
        {
            "lea": "1612000",
            "district": "VALLEY VIEW",
            "vendor": "Xello",
            "school_year": "2026-27",
            "status": "overdue",
            "detail": "13 working days waiting",
            "act_by": date(2026, 11, 3),
        },
        {"lea": "9999000", "district": "ELSEWHERE", "vendor": "Xello", "school_year": "2026-27", "status": "odd"},
    ],
    "districts_without_contact": [{"lea": "5901000", "name": "DES ARC"}],
    "delivery_problems": [
        {
            "id": 3,
            "kind": "lapsed_notice",
            "to": ["a@b.example"],
            "status": "pending",
            "attempts": 12,
            "last_error": "451 later",
        }
    ],
    **FAILED_EXTRA,
}


@pytest.fixture
def scenario(make_app):
    app = make_app(TODAY, **mail_settings())
    build_scenario(app)
    return app


def _minimal_app(make_app):
    """No coordinator, a district with no county and no contact, a vendor with no Onboarding Manager."""
    from apscn_tracker.services import connections, districts, vendors
    from apscn_tracker.services.setup import init

    app = make_app(TODAY)
    init(app)
    vendors.add_vendor(app, name="Bare")
    districts.add_district(app, lea="7550000", name="Minimal District")
    connections.connect(app, lea="7550000", vendor="Bare", method="api")
    return app


def _check(kind: str, subject: str, text: str, html: str) -> None:
    assert subject and "\n" not in subject
    assert text.endswith("\n") and text.strip()
    assert "None" not in text and "None" not in html, kind
    assert "<html" in html and "</html>" in html
    assert max(len(line) for line in text.splitlines()) <= 100, kind
    lines = text.splitlines()
    for i, line in enumerate(lines):  # each part of the email stands apart, whatever the optional bits held
        if line in ("What to do next:", "By:", "Then tell:", "Thank you,") and i > 0:
            assert lines[i - 1] == "", (kind, lines[i - 1], line)


@pytest.mark.parametrize("kind", list(EMAIL_KINDS))
def test_it_renders_every_template_with_a_full_context(scenario, kind):
    district_id, vendor_id = ids(scenario, SUBJECT_OF[kind])
    with scenario.ledger.write() as s:
        rendered, who, ctx = render_message(
            s,
            scenario,
            kind=kind,
            district_id=district_id,
            vendor_id=vendor_id,
            school_year=2026,
            extra={**EMAIL_KINDS[kind].sample_context(), **FULL_EXTRA},
        )
    _check(kind, rendered.subject, rendered.text, rendered.html)
    assert who.to, kind
    if EMAIL_KINDS[kind].about_district:
        district = ctx["district"]
        assert district["name"] in rendered.text and district["lea"] in rendered.text
    assert "Call me if the APSCN form changed." in rendered.text


@pytest.mark.parametrize("kind", list(EMAIL_KINDS))
def test_it_renders_every_template_with_a_minimal_context(make_app, kind):
    app = _minimal_app(make_app)
    district_id, vendor_id = ids(app, "7550000" if SUBJECT_OF[kind] else None, "Bare")
    # only what the ledger cannot say and the context has no default for (a report_ready's path and summary)
    needed = {k: v for k, v in EMAIL_KINDS[kind].sample_context().items() if k not in CONTEXT_DEFAULTS}
    with app.ledger.write() as s:
        ctx = message_context(s, app, kind=kind, district_id=district_id, vendor_id=vendor_id, extra=needed)
    rendered = render(kind, ctx)
    _check(kind, rendered.subject, rendered.text, rendered.html)


def test_it_says_in_every_district_email_what_to_do_by_when_and_whom_to_tell(scenario):
    for kind in (
        "renewal_reminder",
        "lapsed_notice",
        "send_details_reminder",
        "request_form",
        "powerschool_activation",
    ):
        district_id, vendor_id = ids(scenario, SUBJECT_OF[kind])
        with scenario.ledger.write() as s:
            rendered, _, ctx = render_message(
                s, scenario, kind=kind, district_id=district_id, vendor_id=vendor_id, school_year=2026
            )
        act_by = ctx["dates"]["act_by"]
        assert "What to do next:" in rendered.text and "Then tell:" in rendered.text, kind
        assert f"{act_by:%A, %B} {act_by.day}, {act_by.year}" in " ".join(rendered.text.split()), kind
        assert COORDINATOR in rendered.text, kind
        assert ">Next<" in rendered.html and ">By<" in rendered.html and ">Then tell<" in rendered.html


def test_it_dates_the_renewal_request_ten_state_working_days_before_june_30(scenario):
    district_id, vendor_id = ids(scenario, ENABLED)
    with scenario.ledger.write() as s:
        ctx = message_context(
            s, scenario, kind="renewal_reminder", district_id=district_id, vendor_id=vendor_id, school_year=2026
        )
    # the reminder is about 2027-28; June 30, 2027 minus 10 working days (no holiday in between)
    assert ctx["school_year"]["label"] == "2027-28"
    assert ctx["dates"]["disconnect_on"] == date(2027, 6, 30)
    assert ctx["dates"]["request_by"] == date(2027, 6, 16)
    assert ctx["dates"]["act_by"] == date(2027, 6, 16)


def test_it_gives_the_onboarding_manager_address_in_the_details_reminder(scenario):
    district_id, vendor_id = ids(scenario, ENABLED)
    with scenario.ledger.write() as s:
        rendered, who, _ = render_message(
            s, scenario, kind="send_details_reminder", district_id=district_id, vendor_id=vendor_id
        )
    assert "Robin Onboarding <onboarding@xello.example>" in rendered.text
    assert f"mailto:{ONBOARDING}" in rendered.html
    assert len(who.to) == 2 and not who.cc


def test_it_prefills_the_request_form(scenario):
    district_id, vendor_id = ids(scenario, ENABLED)
    with scenario.ledger.write() as s:
        rendered, _, _ = render_message(
            s, scenario, kind="request_form", district_id=district_id, vendor_id=vendor_id, school_year=2027
        )
    assert rendered.subject.startswith("APSCN: eSchoolPLUS API Request")
    for line in (
        "District:           LITTLE ROCK SCHOOL DISTRICT",
        "LEA code:           6001000",
        "County:             Pulaski",
        "API vendor:         Xello",
        "School year:        2027-28 (July 1, 2027 to June 30, 2028)",
        "District contacts:  Lee Grant <lee.grant@lrsd.example> (Data lead)",
        f"                    {ACCENTED} <jose@lrsd.example>",
        "Vendor contact:     Robin Onboarding <onboarding@xello.example>",
        "Purpose:            Student data exchange between eSchoolPLUS and Xello",
    ):
        assert line in rendered.text
    assert "&#34;Pepe&#34;" in rendered.html or "&quot;Pepe&quot;" in rendered.html


def test_it_titles_the_powerschool_activation_xello_data_exchange(scenario):
    district_id, vendor_id = ids(scenario, ENABLED)
    with scenario.ledger.write() as s:
        rendered, _, _ = render_message(
            s, scenario, kind="powerschool_activation", district_id=district_id, vendor_id=vendor_id
        )
    assert rendered.subject == "Xello Data Exchange"


def test_it_escapes_a_script_in_a_district_name_in_html_only(make_app):
    from apscn_tracker.services import connections, districts

    app = make_app(TODAY, **mail_settings())
    build_scenario(app)
    evil = "<script>alert('x')</script> & Sons"
    districts.add_district(app, lea="7551000", name=evil, emails=["it@evil.example"], contact_name="<b>Boss</b>")
    connections.connect(app, lea="7551000", vendor="Xello", method="api")
    district_id, vendor_id = ids(app, "7551000")
    for kind in ("renewal_reminder", "lapsed_notice", "request_form", "activation_overdue"):
        with app.ledger.write() as s:
            rendered, _, _ = render_message(s, app, kind=kind, district_id=district_id, vendor_id=vendor_id)
        assert "<script>" not in rendered.html and "<b>Boss</b>" not in rendered.html, kind
        assert "&lt;script&gt;" in rendered.html and "&amp; Sons" in rendered.html, kind
        assert evil in rendered.text, kind  # plain text is not HTML: nothing to escape


def test_it_folds_a_line_break_from_a_value_into_the_subject_line():
    district = {"name": "Evil\r\nBcc: victim@evil.example", "lea": "1", "county": None, "contacts": []}
    rendered = render("upload_complete", _fake_context({"district": district}))
    assert "\n" not in rendered.subject and "\r" not in rendered.subject
    assert "Evil Bcc: victim@evil.example" in rendered.subject


def _fake_context(override):
    ctx = {
        "kind": "upload_complete",
        "today": TODAY,
        "coordinator": {"name": "C", "email": None},
        "district": {"name": "D", "lea": "1", "county": None, "contacts": []},
        "vendor": {"name": "Xello", "onboarding_name": None, "onboarding_email": None},
        "school_year": {"label": "2026-27", "start": 2026, "begins": date(2026, 7, 1), "ends": date(2027, 6, 30)},
        "connection": None,
        "renewal": None,
        "dates": {"act_by": TODAY},
        "activation_working_days": 10,
        "forward_to_district": False,
        "forward_to_onboarding": False,
        **CONTEXT_DEFAULTS,
    }
    ctx.update(override)
    return ctx


def test_it_lets_the_coordinators_folder_override_any_single_file(tmp_path: Path):
    own = tmp_path / "own"
    own.mkdir()
    (own / "upload_complete.subject.txt").write_text("Our own subject for {{ district.name }}\n")
    (own / "_base.body.html").write_text("<html><body>OURS {% block content %}{% endblock %}</body></html>\n")
    rendered = render("upload_complete", _fake_context({}), templates_dir=own)
    assert rendered.subject == "Our own subject for D"
    assert rendered.html.startswith("<html><body>OURS")
    bundled = render("upload_complete", _fake_context({}))
    assert rendered.text == bundled.text  # the text part falls back to the bundled template


def test_it_uses_the_configured_templates_folder(make_app, tmp_path: Path):
    own = tmp_path / "own"
    own.mkdir()
    (own / "request_form.subject.txt").write_text("Form for {{ district.lea }}\n")
    app = make_app(TODAY, **mail_settings(templates_dir=str(own)))
    build_scenario(app)
    district_id, vendor_id = ids(app, LAPSED)
    with app.ledger.write() as s:
        rendered, _, _ = render_message(s, app, kind="request_form", district_id=district_id, vendor_id=vendor_id)
    assert rendered.subject == f"Form for {LAPSED}"


@pytest.mark.parametrize("kind", ["../etc/passwd", "/etc/passwd", "request_form/../../x", "Request", "a.b", ""])
def test_it_refuses_template_names_outside_the_folder(kind):
    with pytest.raises(TemplateProblem):
        render(kind, {})


def test_it_refuses_an_override_that_climbs_out_of_its_folder(tmp_path: Path):
    own = tmp_path / "own"
    own.mkdir()
    (tmp_path / "secret.txt").write_text("top secret")
    (own / "upload_complete.subject.txt").write_text('{% include "../secret.txt" %}\n')
    with pytest.raises(TemplateProblem, match="secret.txt"):
        render("upload_complete", _fake_context({}), templates_dir=own)


def test_it_names_an_undefined_variable_instead_of_printing_nothing(tmp_path: Path):
    own = tmp_path / "own"
    own.mkdir()
    (own / "upload_complete.subject.txt").write_text("{{ district.nickname }}\n")
    with pytest.raises(TemplateProblem, match="nickname"):
        render("upload_complete", _fake_context({}), templates_dir=own)


def test_it_reports_a_syntax_error_with_file_and_line(tmp_path: Path):
    own = tmp_path / "own"
    own.mkdir()
    (own / "upload_complete.body.txt").write_text("line one\n{% if %}\n")
    with pytest.raises(TemplateProblem, match=r"upload_complete.body.txt, line 2"):
        render("upload_complete", _fake_context({}), templates_dir=own)


def test_it_bundles_a_trio_for_every_kind():
    names = {p.name for p in bundled_dir().iterdir()}
    for kind in EMAIL_KINDS.values():
        assert set(kind.templates) <= names, kind.name
    assert len(EMAIL_KINDS) == 10


def test_it_does_not_load_jinja_when_the_cli_starts():
    import subprocess
    import sys

    probe = "import sys, apscn_tracker.cli.main; print('jinja2' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "False"


def test_it_sends_a_district_email_without_contact_to_the_coordinator_to_forward(scenario):
    from tests.support.mail import NO_CONTACT

    district_id, vendor_id = ids(scenario, NO_CONTACT)
    with scenario.ledger.write() as s:
        rendered, who, _ = render_message(
            s, scenario, kind="lapsed_notice", district_id=district_id, vendor_id=vendor_id
        )
        digest, _, ctx = render_message(s, scenario, kind="coordinator_digest")
    assert who.to == ["Casey Coordinator <coordinator@coop.example>"] and who.forward_to_district
    assert "please forward it to the district" in " ".join(rendered.text.split()).lower()
    assert {"lea": NO_CONTACT, "name": "DES ARC SCHOOL DISTRICT"} in ctx["districts_without_contact"]
    assert f"- {NO_CONTACT} DES ARC SCHOOL DISTRICT" in digest.text


def test_it_lists_what_needs_follow_up_in_the_digest(scenario):
    with scenario.ledger.write() as s:
        digest, who, ctx = render_message(s, scenario, kind="coordinator_digest")
    statuses = {(i["lea"], i["status"]) for i in ctx["items"]}
    assert ("1612000", "overdue") in statuses and ("2906000", "lapsed") in statuses
    assert ("6001000", "enabled") in statuses
    assert who.to == ["Casey Coordinator <coordinator@coop.example>"]
    assert re.search(r"APSCN activation overdue \(1\)", digest.text)


def test_it_keeps_the_context_free_of_the_smtp_password(make_app):
    app = make_app(TODAY, **mail_settings(smtp_password="hunter2-very-secret"))
    build_scenario(app)
    district_id, vendor_id = ids(app, ENABLED)
    with app.ledger.write() as s:
        ctx = message_context(s, app, kind="renewal_reminder", district_id=district_id, vendor_id=vendor_id)
    assert "hunter2-very-secret" not in repr(ctx) and "hunter2" not in repr(app.settings)
    assert NOW.tzinfo is not None
