"""Shared fixtures: a real SQLite ledger in a temporary APSCN_HOME, and the CLI run in-process."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from apscn_tracker.config import load_settings
from apscn_tracker.services.app import App

_ENV_PREFIX = "APSCN_"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own APSCN_HOME; no setting leaks in from the machine (except the database URL
    that a PostgreSQL run of the suite sets on purpose)."""
    keep = {"APSCN_DATABASE_URL", "APSCN_TEST_DATABASE_URL"}
    for key in list(os.environ):
        if key.startswith(_ENV_PREFIX) and key not in keep:
            monkeypatch.delenv(key)
    home = tmp_path / "home"
    monkeypatch.setenv("APSCN_HOME", str(home))
    monkeypatch.setenv("APSCN_ACTOR", "tester")
    return home


@pytest.fixture
def home(isolated_env: Path) -> Path:
    return isolated_env


@pytest.fixture
def make_app(home: Path):
    """``make_app(today)`` -> an App on the test ledger (closed at the end of the test)."""
    apps: list[App] = []

    def factory(today: date | str = date(2026, 11, 2), **overrides) -> App:
        day = date.fromisoformat(today) if isinstance(today, str) else today
        a = App(load_settings(**overrides), today=day)
        apps.append(a)
        return a

    yield factory
    for a in apps:
        a.close()


@pytest.fixture
def ledger_app(make_app):
    """An initialised ledger (Xello and the bundled roster), as `apscn init` leaves it."""
    from apscn_tracker.services.setup import init

    a = make_app()
    init(a)
    return a


class Cli:
    """Runs ``apscn`` in-process with Typer's runner; stdout and stderr kept apart."""

    def __init__(self) -> None:
        from apscn_tracker.cli.main import app

        self.app = app
        self.runner = CliRunner()

    def __call__(self, *args: str, today: str | None = None, input: str | None = None):
        argv = [str(a) for a in args]
        env = {"APSCN_TODAY": today} if today else None
        return self.runner.invoke(self.app, argv, env=env, input=input)

    def json(self, *args: str, today: str | None = None):
        result = self(*args, "--json", today=today)
        assert result.exit_code == 0, result.output + (result.stderr or "")
        return json.loads(result.stdout)


@pytest.fixture
def cli() -> Cli:
    return Cli()
