"""Migrations build the schema from an empty database, and agree with the models."""

import os
import re
import sqlite3
import stat

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlmodel import SQLModel

import apscn_tracker.ledger.models  # noqa: F401
from apscn_tracker.config import load_settings
from apscn_tracker.ledger.db import HEAD, MIGRATIONS, NoLedger, current_revision, open_ledger


def test_an_empty_database_is_migrated_to_the_head_when_init_creates_it(home):
    ledger = open_ledger(load_settings(), create=True)
    assert current_revision(ledger.engine) == HEAD
    newest = sorted((MIGRATIONS / "versions").glob("*.py"))[-1]
    assert f'revision = "{HEAD}"' in newest.read_text(encoding="utf-8"), newest.name


def test_the_models_and_the_migrations_agree(home):
    ledger = open_ledger(load_settings(), create=True)
    with ledger.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata)
    assert diff == []


def test_the_partial_index_of_the_models_is_partial_in_the_migrated_database_with_the_same_condition(home):
    from sqlalchemy import inspect

    from apscn_tracker.ledger.models import Renewal

    ledger = open_ledger(load_settings(), create=True)
    dialect = ledger.engine.dialect.name
    (index,) = [i for i in Renewal.__table__.indexes if i.name == "ix_renewal_open"]
    assert str(index.dialect_options[dialect]["where"]) == index.info["where"] == "disconnected_on IS NULL"
    with ledger.engine.connect() as conn:
        if dialect == "sqlite":
            sql = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'ix_renewal_open'").scalar()
            assert sql.endswith("WHERE disconnected_on IS NULL")
        else:
            found = [i for i in inspect(conn).get_indexes("renewal") if i["name"] == "ix_renewal_open"]
            assert "disconnected_on IS NULL" in str(found[0]["dialect_options"]["postgresql_where"])


@pytest.mark.sqlite_only
def test_the_ledger_is_sqlite_in_wal_mode_with_foreign_keys(home):
    ledger = open_ledger(load_settings(), create=True)
    with ledger.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


@pytest.mark.sqlite_only
def test_the_database_file_is_readable_by_its_owner_only(home):
    open_ledger(load_settings(), create=True)
    mode = stat.S_IMODE(os.stat(home / "apscn.db").st_mode)
    assert mode & 0o077 == 0


@pytest.mark.sqlite_only
@pytest.mark.parametrize("content", [None, b"", b"not a database at all\n"], ids=["missing", "empty", "foreign"])
def test_only_init_creates_a_ledger_any_other_open_is_refused_naming_the_folder(home, content):
    if content is not None:
        home.mkdir(parents=True)
        (home / "apscn.db").write_bytes(content)
    with pytest.raises(NoLedger, match=rf"^no ledger in {re.escape(str(home))}: .*`apscn init`"):
        open_ledger(load_settings())
    assert (home / "apscn.db").exists() is (content is not None)
    if content is not None:
        assert (home / "apscn.db").read_bytes() == content and not (home / "apscn.db-wal").exists()


def test_a_database_without_the_ledger_tables_is_refused_unless_init_creates_them(home):
    home.mkdir(parents=True, exist_ok=True)
    settings = load_settings()
    if settings.is_sqlite:  # a SQLite file, not empty, with no table
        conn = sqlite3.connect(settings.db_path)
        conn.execute("CREATE TABLE other (x)")
        conn.execute("DROP TABLE other")
        conn.close()
        assert settings.db_path.stat().st_size > 0
    else:
        engine = create_engine(settings.url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    with pytest.raises(NoLedger, match="the database has no ledger tables"):
        open_ledger(settings)
    open_ledger(settings, create=True).dispose()


def test_the_event_history_refuses_updates_and_deletes(ledger_app):
    import pytest
    from sqlalchemy.exc import DatabaseError

    engine = create_engine(ledger_app.settings.url)
    for sql in ("UPDATE event SET note = 'x'", "DELETE FROM event"):
        with pytest.raises(DatabaseError, match="append-only"), engine.begin() as conn:
            conn.execute(text(sql))
    engine.dispose()


def test_opening_an_up_to_date_ledger_does_not_load_alembic(home):
    import subprocess
    import sys

    open_ledger(load_settings(), create=True).dispose()
    code = (
        "import sys; from apscn_tracker.config import load_settings; from apscn_tracker.ledger.db import open_ledger;"
        "open_ledger(load_settings()); print('alembic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ)
    assert out.stdout.strip() == "False"
