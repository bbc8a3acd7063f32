"""Light SQLAlchemy Core views of the ledger's tables, for read paths that should not load the ORM.

The schema has one definition: the SQLModel classes of ``models.py`` (and the migrations that build it).
Importing them builds every model, pydantic and the ORM mapper included: more than the rest of an
``apscn status`` run. Status reads four tables and needs none of that, so it reads through these
``TableClause`` objects: the columns it uses, with their types (dates come back as dates on every database).
tests/test_tables.py checks every column here against the models.
"""

from __future__ import annotations

from sqlalchemy import Date, Integer, String, column, table

district = table(
    "district",
    column("id", Integer),
    column("lea_code", String),
    column("name", String),
)

vendor = table(
    "vendor",
    column("id", Integer),
    column("name", String),
)

connection = table(
    "connection",
    column("id", Integer),
    column("district_id", Integer),
    column("vendor_id", Integer),
    column("method", String),
    column("retired_on", Date),
    column("created_on", Date),
)

renewal = table(
    "renewal",
    column("id", Integer),
    column("connection_id", Integer),
    column("school_year", Integer),
    column("requested_on", Date),
    column("expected_enabled_by", Date),
    column("enabled_on", Date),
    column("confirmed_on", Date),
    column("disconnected_on", Date),
)

ALL = (district, vendor, connection, renewal)
