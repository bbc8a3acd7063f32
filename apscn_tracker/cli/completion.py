"""Shell completion of LEA codes, with the district's name beside each (zsh, fish and PowerShell show it).

A completion runs at every press of Tab, so it reads the SQLite ledger with the standard library's sqlite3,
read-only, and loads neither the ORM nor SQLAlchemy; it never creates or changes anything, and any problem
(no ledger, a PostgreSQL one, a broken configuration) completes nothing rather than printing an error.
"""

from __future__ import annotations

from pathlib import Path

LIMIT = 200  # candidates offered at once: a shell lists them all


def _ledger_file() -> Path | None:
    from apscn_tracker.config import load_settings  # lazy: only when Tab is pressed

    settings = load_settings()
    if not settings.is_sqlite:
        return None
    url = settings.url
    path = Path(url.split("///", 1)[1].split("?", 1)[0]) if "///" in url else None
    return path if path is not None and path.is_file() else None


def districts_matching(incomplete: str) -> list[tuple[str, str]]:
    """(LEA code, name) of the districts whose code starts with ``incomplete``."""
    import sqlite3  # lazy: only when Tab is pressed; every command imports this module for its options

    try:
        path = _ledger_file()
        if path is None:
            return []
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=1)
        try:
            rows = conn.execute(  # the shell keeps the codes that start with what was typed
                "SELECT lea_code, name FROM district WHERE lea_code >= ? AND lea_code < ? ORDER BY lea_code LIMIT ?",
                (incomplete, incomplete + "\uffff", LIMIT),
            ).fetchall()
        finally:
            conn.close()
    except Exception:  # Tab must never print a traceback into the command line being typed
        return []
    return [(str(code), " ".join(str(name).split())) for code, name in rows]


def complete_lea(incomplete: str) -> list[tuple[str, str]]:
    """Typer's ``autocompletion`` for an LEA argument or option."""
    return districts_matching(incomplete)
