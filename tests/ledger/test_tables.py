"""The light Core tables of ``ledger.tables`` (read paths without the ORM) agree with the models."""

from __future__ import annotations

import pytest
from sqlmodel import SQLModel

import apscn_tracker.ledger.models  # noqa: F401  (registers the tables)
from apscn_tracker.ledger import tables


@pytest.mark.parametrize("light", tables.ALL, ids=[t.name for t in tables.ALL])
def test_every_light_column_is_a_column_of_the_model_with_the_same_type(light):
    model = SQLModel.metadata.tables[light.name]
    for col in light.columns:
        assert col.name in model.c, f"{light.name}.{col.name} is not in the models"
        declared = model.c[col.name].type
        declared = getattr(declared, "impl", declared)  # SQLModel's AutoString is a String underneath
        assert isinstance(declared, type(col.type)), f"{light.name}.{col.name}: {declared!r} vs {col.type!r}"


def test_reading_status_loads_no_orm(ledger_app):
    import subprocess
    import sys

    code = (
        "import sys; from apscn_tracker.services.app import App; from apscn_tracker.config import load_settings;"
        "from apscn_tracker.services.status import status_rows; status_rows(App(load_settings()));"
        "print(sorted(m for m in ('sqlmodel', 'sqlalchemy.orm', 'apscn_tracker.ledger.models') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
