"""A whole-ledger snapshot, to prove that a refused command changed nothing."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect, text


def snapshot(url: str) -> dict[str, list[tuple]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                name: [tuple(r) for r in conn.execute(text(f'SELECT * FROM "{name}" ORDER BY 1'))]
                for name in sorted(inspect(conn).get_table_names())
            }
    finally:
        engine.dispose()
