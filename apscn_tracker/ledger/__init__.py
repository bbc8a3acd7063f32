"""The ledger: SQLModel tables, the engine, Alembic migrations and query functions."""
