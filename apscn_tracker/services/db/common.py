"""What the backup and the checks share: the verdict of a check, and the file of a SQLite ledger."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OK, WARNING, PROBLEM = "ok", "warning", "problem"
LISTED = 20  # details listed per check


@dataclass
class Check:
    """The verdict of one check: ``ok``, ``warning`` (worth knowing) or ``problem`` (someone must act)."""

    name: str
    status: str
    message: str
    details: list[str] = field(default_factory=list)


def sqlite_file(url: str) -> Path | None:
    """The ledger file a SQLite URL names; None for an in-memory or URI-style database."""
    path = url.split("///", 1)[1] if "///" in url else ""
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    return Path(path.split("?", 1)[0])


def iso(value: Any) -> str:
    """A date or time as ISO text; ``empty`` for none."""
    return value.isoformat() if value is not None else "empty"
