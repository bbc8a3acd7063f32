"""Where the bundled templates and data live, in a wheel or in a source checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _bundled(name: str) -> Path:
    inside = _PACKAGE / "_bundled" / name  # installed wheel
    if inside.is_dir():
        return inside
    return _PACKAGE.parent / name  # source checkout / editable install


def templates_dir() -> Path:
    return _bundled("templates")


def data_dir() -> Path:
    return _bundled("data")
