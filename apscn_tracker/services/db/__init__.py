"""``apscn db backup FILE`` and ``apscn db check``: a copy of the ledger, and proof that it is sound.

- ``backups``: SQLite's online backup into a new owner-only file (on PostgreSQL, how to use pg_dump instead);
- ``checks``: ``check()``, which reads only (one snapshot: it waits for no writer and blocks none) and applies
  no migration, so it reports the ledger as it is; the checks of the file and the schema live there;
- ``consistency``: the checks of the data: the projection rebuilt from the events, the outbox's states;
- ``common``: the ``Check`` every check returns, and the ledger file of a SQLite URL.

Callers import the module they need (``apscn db backup`` never loads Alembic, which only the check needs).
"""
