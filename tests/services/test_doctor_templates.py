"""`apscn doctor` checks the templates of every email kind, as rendering finds them: the coordinator's folder
first, then the bundled one."""

from __future__ import annotations

from pathlib import Path

import pytest

from apscn_tracker.mail.kinds import EMAIL_KINDS
from apscn_tracker.services.doctor import run_check
from tests.support.mail import TODAY, mail_settings


def _configuration(make_app, **settings):
    (check,) = run_check("mail setup", make_app(TODAY, **mail_settings(**settings)))
    return check


def test_the_bundled_templates_of_every_kind_pass(make_app):
    check = _configuration(make_app)
    assert check.status == "ok", check.details


@pytest.mark.parametrize("kind", list(EMAIL_KINDS))
def test_doctor_names_a_template_missing_for_any_kind(make_app, tmp_path: Path, kind):
    own = tmp_path / "own"
    own.mkdir()
    (own / f"{kind}.body.txt").write_text('{% extends "_our_layout.body.txt" %}\n', encoding="utf-8")
    check = _configuration(make_app, templates_dir=str(own))
    assert check.status == "fail"
    assert check.details == ["email templates missing: _our_layout.body.txt"]


def test_doctor_names_the_file_and_line_of_a_broken_template_in_the_coordinators_folder(make_app, tmp_path: Path):
    own = tmp_path / "own"
    own.mkdir()
    (own / "report_ready.body.html").write_text("<p>\n{{ path }\n", encoding="utf-8")
    check = _configuration(make_app, templates_dir=str(own))
    assert check.status == "fail"
    (line,) = check.details
    assert line.startswith(f"template {own / 'report_ready.body.html'}, line 2: ")
