"""Commands load only what they use: ``apscn --help`` stays as light as Typer itself; a status read loads the
ledger's models (SQLModel) and nothing of the templates, the mail, the reports, the scheduler or the migrations.
Checked in a fresh interpreter (sys.modules after the command); no timing here, the figures live in bench/."""

from __future__ import annotations

import json
import os
import subprocess
import sys

PROBE = """
import json, sys
sys.argv = ["apscn", *json.loads(sys.argv[1])]
from apscn_tracker.cli.main import run
try:
    run()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
sys.stdout.flush()
own = sorted(m for m in sys.modules if m.startswith("apscn_tracker."))
top = sorted({m.split(".")[0] for m in sys.modules})
sys.stderr.write("\\nMODULES " + json.dumps({"code": code, "modules": top, "own": own}))
"""

HEAVY = ("sqlalchemy", "sqlmodel", "alembic", "apscheduler", "jinja2", "rich", "pydantic")
NOT_FOR_A_READ = ("alembic", "apscheduler", "jinja2")
# the package's own modules a status read has no use for: templates and mail, reports, the scheduler, migrations
NOT_OURS_FOR_A_READ = (
    "apscn_tracker.mail",
    "apscn_tracker.report",
    "apscn_tracker.scheduler",
    "apscn_tracker.ledger.migrations",
)
# but the registry of email kinds, plain data whose names the help of `send` and `preview` lists
READ_BY_EVERY_COMMAND = ("apscn_tracker.mail", "apscn_tracker.mail.kinds")


def loaded_by(*args: str) -> tuple[int, set[str], str]:
    """Run ``apscn ARGS`` in a fresh interpreter; return its exit code, the modules it loaded (top-level names,
    and the package's own modules in full), stdout."""
    out = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(list(args))],
        capture_output=True,
        text=True,
        env=os.environ,
        timeout=120,
    )
    marker = out.stderr.rsplit("MODULES ", 1)
    assert len(marker) == 2, out.stderr
    found = json.loads(marker[1])
    return found["code"], set(found["modules"]) | set(found["own"]), out.stdout


def test_apscn_help_loads_no_database_template_scheduler_or_table_library():
    code, modules, stdout = loaded_by("--help")
    assert code == 0
    assert "Commands:" in stdout and "status" in stdout
    assert sorted(modules.intersection(HEAVY)) == []


def test_the_help_of_a_command_loads_no_database_template_or_scheduler_library():
    code, modules, stdout = loaded_by("status", "--help")
    assert code == 0
    assert "--lea" in stdout
    assert sorted(modules.intersection(("sqlalchemy", "sqlmodel", "alembic", "apscheduler", "jinja2", "rich"))) == []


def test_apscn_version_loads_nothing_heavy():
    code, modules, stdout = loaded_by("--version")
    assert code == 0 and stdout.startswith("apscn-tracker ")
    assert sorted(modules.intersection(HEAVY)) == []


def test_status_of_one_district_reads_the_models_and_loads_no_template_scheduler_or_migration_code(ledger_app):
    code, modules, stdout = loaded_by("status", "--lea", "0101000", "--json")
    assert code == 0
    assert json.loads(stdout) == []
    assert "apscn_tracker.ledger.models" in modules  # the one description of the tables
    assert "sqlalchemy.dialects.postgresql" not in modules  # a SQLite ledger loads no other database's dialect
    assert sorted(modules.intersection((*NOT_FOR_A_READ, "rich"))) == []
    assert sorted(m for m in modules if m.startswith(NOT_OURS_FOR_A_READ) and m not in READ_BY_EVERY_COMMAND) == []


def test_the_status_table_loads_no_template_scheduler_or_migration_code(ledger_app):
    code, modules, stdout = loaded_by("status", "--lea", "0101000")
    assert code == 0
    assert stdout.startswith("LEA ") and stdout.count("\n") == 1  # piped: the header, no records
    assert sorted(modules.intersection(NOT_FOR_A_READ)) == []
    assert sorted(m for m in modules if m.startswith(NOT_OURS_FOR_A_READ) and m not in READ_BY_EVERY_COMMAND) == []
