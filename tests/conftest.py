"""Shared fixtures: a real SQLite ledger in a temporary APSCN_HOME, and the CLI run in-process."""

from __future__ import annotations

import json
import os
import uuid
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from apscn_tracker.config import load_settings
from apscn_tracker.services.app import App
from tests.support.smtp_server import Server

_ENV_PREFIX = "APSCN_"
pytest_plugins = ["tests.support.scheduler"]  # the `schedulers` fixture


PG_URL = os.environ.get("APSCN_TEST_DATABASE_URL")  # set: the whole suite runs on that PostgreSQL server
_TEMPLATE = "apscn_template"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: checks SQLite specifics; skipped on PostgreSQL")
    config.addinivalue_line("markers", "postgres_only: needs a PostgreSQL server (APSCN_TEST_DATABASE_URL)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if PG_URL and "sqlite_only" in item.keywords:
            item.add_marker(pytest.mark.skip(reason="SQLite specific"))
        if not PG_URL and "postgres_only" in item.keywords:
            item.add_marker(pytest.mark.skip(reason="set APSCN_TEST_DATABASE_URL to a PostgreSQL server"))


def _pg_admin():
    from sqlalchemy import create_engine

    return create_engine(PG_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def pg_template() -> str | None:
    """A migrated template database; each test gets a copy (CREATE DATABASE ... TEMPLATE is fast)."""
    if not PG_URL:
        return None
    from sqlalchemy import text

    from apscn_tracker.ledger.db import make_engine, upgrade

    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {_TEMPLATE} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {_TEMPLATE}"))
    engine = make_engine(PG_URL.rsplit("/", 1)[0] + f"/{_TEMPLATE}")
    upgrade(engine)
    engine.dispose()
    admin.dispose()
    return _TEMPLATE


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_template: str | None):
    """Every test gets its own APSCN_HOME (and, on PostgreSQL, its own database); no APSCN_* setting
    leaks in from the machine."""
    for key in list(os.environ):
        if key.startswith(_ENV_PREFIX) and key != "APSCN_TEST_DATABASE_URL":
            monkeypatch.delenv(key)
    home = tmp_path / "home"
    monkeypatch.setenv("APSCN_HOME", str(home))
    monkeypatch.setenv("APSCN_ACTOR", "tester")
    if not pg_template:
        yield home
        return
    from sqlalchemy import text

    name = "t_" + uuid.uuid4().hex[:16]
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {pg_template}"))
    monkeypatch.setenv("APSCN_DATABASE_URL", PG_URL.rsplit("/", 1)[0] + f"/{name}")  # type: ignore[union-attr]
    try:
        yield home
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture
def home(isolated_env: Path) -> Path:
    return isolated_env


class InitialisedApp(App):
    """An App whose first use creates the ledger (an empty, migrated one), as running ``apscn init`` first would."""

    @property
    def ledger(self):
        return self.create_ledger()


@pytest.fixture
def make_app(home: Path):
    """``make_app(today)`` -> an App on the test ledger (closed at the end of the test). The ledger is created
    (empty, migrated) on the App's first use, as ``apscn init`` would: only ``init`` creates one in the product."""
    apps: list[App] = []

    def factory(today: date | str = date(2026, 11, 2), **overrides) -> App:
        day = date.fromisoformat(today) if isinstance(today, str) else today
        a = InitialisedApp(load_settings(**overrides), today=day)
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


@pytest.fixture
def smtp():
    """A real SMTP server on loopback (aiosmtpd), on a free port; ``smtp.received`` holds what it accepted."""
    server = Server()
    server.start()
    yield server
    server.stop()
