"""The domain is pure: its modules load no database, CLI, template, mail or scheduler code."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import apscn_tracker.domain

FORBIDDEN = ("sqlmodel", "sqlalchemy", "typer", "jinja2", "smtplib", "apscheduler")

PROBE = """
import importlib, json, pkgutil, sys
import apscn_tracker.domain as domain
names = sorted(m.name for m in pkgutil.walk_packages(domain.__path__, domain.__name__ + "."))
for name in names:
    importlib.import_module(name)
print(json.dumps({"imported": names, "modules": sorted(sys.modules)}))
"""


def _domain_modules() -> list[str]:
    pkg = apscn_tracker.domain
    return sorted(m.name for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."))


def test_the_domain_imports_no_database_cli_template_mail_or_scheduler_module() -> None:
    root = Path(apscn_tracker.domain.__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=root, capture_output=True, text=True, check=True, timeout=60
    )
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["imported"] == _domain_modules()
    assert "apscn_tracker.domain.workdays" in found["imported"]
    assert "apscn_tracker.domain.schoolyear" in found["imported"]
    loaded = {name.split(".")[0] for name in found["modules"]}
    assert sorted(loaded.intersection(FORBIDDEN)) == []
