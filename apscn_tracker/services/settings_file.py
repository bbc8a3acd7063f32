"""``apscn config show | set | unset``: the settings in force, and config.toml edited with its comments kept.

A value is checked as config.toml's would be before anything is written (``config.settings_from_table``), and the
file is replaced whole (a temporary file, then a rename), owner-only. A top-level key found below the
``[reminders]`` line (appended at the end of the file) is moved where it belongs when it is set or unset.
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from dataclasses import fields, replace
from datetime import date
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import Table

from apscn_tracker.config import (
    ConfigError,
    ReminderRules,
    Settings,
    default_home,
    load_settings,
    settings_from_table,
    unknown_key,
)
from apscn_tracker.redact import redact_url
from apscn_tracker.services.send_hour import check_send_hour

TABLES = ("reminders",)
HIDDEN = {"smtp_password"}  # never shown, never stored in the file


def config_path() -> Path:
    """config.toml of APSCN_HOME (read without loading the settings: ``set`` must mend a file they refuse)."""
    home = os.environ.get("APSCN_HOME") or str(default_home())
    return Path(home).expanduser() / "config.toml"


def _split(key: str) -> tuple[str, str]:
    table, _, name = key.rpartition(".")
    if table and table not in TABLES:
        raise ConfigError(f"unknown table [{table}] for config.toml; the tables are {', '.join(TABLES)}")
    if name in HIDDEN:
        raise ConfigError(f"{name} must not be stored in a file; set APSCN_SMTP_PASSWORD in the environment")
    if not table and name in TABLES:
        raise ConfigError(f"[{name}] is a table: set one of its keys, like {name}.{_known(name)[0]}")
    return table, name


def _read(path: Path) -> tomlkit.TOMLDocument:
    if not path.is_file():
        return tomlkit.document()
    try:
        return tomlkit.parse(path.read_text(encoding="utf-8"))
    except Exception as exc:  # tomlkit's parse errors carry the line and column
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix or remove the file") from None


def _plain(value: Any) -> Any:
    """A TOML value as the settings check takes it (tomlkit's types unwrapped)."""
    return value.unwrap() if hasattr(value, "unwrap") else value


def _candidates(raw: str) -> list[Any]:
    """What VALUE may mean: a TOML value (8, [60, 30], 2026-12-28, true) first, then the text as it is."""
    try:
        parsed = tomllib.loads(f"v = {raw}")["v"] if "\n" not in raw else raw
    except tomllib.TOMLDecodeError:
        return [raw]
    return [parsed] if parsed == raw else [parsed, raw]


def _check_one(table: str, name: str, value: Any, path: Path) -> None:
    data = {table: {name: value}} if table else {name: value}
    settings_from_table(data, f"for {path.name}")


def _checked_value(table: str, name: str, raw: str, path: Path) -> Any:
    """The first meaning of ``raw`` the setting's check accepts; the check's own line when none is."""
    if name not in _known(table):
        raise ConfigError(unknown_key(name, table, f"for {path.name}"))
    first_error: ConfigError | None = None
    for value in _candidates(raw):
        try:
            _check_one(table, name, value, path)
            if name in ("send_hour", "timezone") and not table:  # hours 1-3 skip or repeat on a clock change
                check_send_hour(
                    replace(Settings(home=path.parent), **{name: settings_from_table({name: value}, "")[name]})
                )
        except ConfigError as exc:
            first_error = first_error or exc
            continue
        return value
    assert first_error is not None
    raise first_error


def _known(table: str) -> list[str]:
    if table:
        return [f.name for f in fields(ReminderRules)]
    return [f.name for f in fields(Settings) if f.name not in ("home", "reminders", *HIDDEN)]


def _misplaced(doc: tomlkit.TOMLDocument, name: str) -> bool:
    """Remove a top-level key written below a table's line (it landed in that table); True if there was one."""
    moved = False
    for table in TABLES:
        section = doc.get(table)
        if isinstance(section, Table) and name in section and name not in _known(table):
            del section[name]
            moved = True
    return moved


def _write(path: Path, doc: tomlkit.TOMLDocument) -> None:
    if not path.parent.is_dir():
        raise ConfigError(f"no folder {path.parent}: run `apscn init` first (or set APSCN_HOME)")
    fd, tmp = tempfile.mkstemp(prefix=".config.", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(doc.as_string())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _still_wrong(doc: tomlkit.TOMLDocument, path: Path) -> str | None:
    try:
        settings_from_table(doc.unwrap(), f"in {path}")
    except ConfigError as exc:
        return str(exc)
    return None


def set_setting(key: str, raw: str) -> dict[str, Any]:
    """Check VALUE for KEY, then write it into config.toml (its comments kept). Returns what was done."""
    path = config_path()
    table, name = _split(key)
    value = _checked_value(table, name, raw, path)
    doc = _read(path)
    moved = False if table else _misplaced(doc, name)
    if table:
        section = doc.get(table)
        if not isinstance(section, Table):
            section = tomlkit.table()
            doc[table] = section
        _replace(section, name, value)
    else:
        _replace(doc, name, value)
    _write(path, doc)
    shown = _shown(name, value)
    return {"file": str(path), "key": key, "value": shown, "moved": moved, "problem": _still_wrong(doc, path)}


def _replace(container: Any, name: str, value: Any) -> None:
    """Set ``name``, keeping the comment at the end of its line."""
    old = container.item(name) if name in container else None
    container[name] = value
    if old is not None and old.trivia.comment:
        new = container.item(name)
        new.trivia.comment_ws, new.trivia.comment = old.trivia.comment_ws, old.trivia.comment


def unset_setting(key: str) -> dict[str, Any]:
    """Remove KEY from config.toml: its default (or APSCN_* variable) applies again."""
    path = config_path()
    table, name = _split(key)
    if name not in _known(table):
        raise ConfigError(unknown_key(name, table, f"for {path.name}"))
    doc = _read(path)
    removed = False
    if table:
        section = doc.get(table)
        if isinstance(section, Table) and name in section:
            del section[name]
            removed = True
    else:
        removed = _misplaced(doc, name)
        if name in doc:
            del doc[name]
            removed = True
    if removed:
        _write(path, doc)
    return {"file": str(path), "key": key, "removed": removed, "problem": _still_wrong(doc, path)}


def _shown(name: str, value: Any) -> Any:
    if name in HIDDEN:
        return "(set)" if value else None
    if name == "database_url" and isinstance(value, str):
        return redact_url(value)
    if isinstance(value, Path | date):
        return str(value)
    if isinstance(value, tuple):
        return [str(v) if isinstance(v, date) else v for v in value]
    return value


def show_settings() -> dict[str, Any]:
    """Every setting in force, with where it comes from (default, config.toml or the environment)."""
    settings = load_settings()
    path = settings.config_file
    in_file = tomllib.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    default = Settings(home=settings.home)
    rows = []
    for f in fields(Settings):
        if f.name == "reminders":
            continue
        rows.append(_row(f.name, getattr(settings, f.name), getattr(default, f.name), in_file))
    rules, default_rules = settings.reminders, default.reminders
    for f in fields(rules):
        rows.append(
            _row(
                f.name,
                getattr(rules, f.name),
                getattr(default_rules, f.name),
                in_file.get("reminders", {}),
                "reminders.",
            )
        )
    return {"file": str(path), "settings": rows}


def _row(name: str, value: Any, default: Any, in_file: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    if name == "home":
        source = "APSCN_HOME" if os.environ.get("APSCN_HOME") else "default"
    elif name in in_file and value == _coerced(prefix + name, in_file[name], value):
        source = "config.toml"
    elif value != default:
        source = "environment"
    else:
        source = "default"
    return {"key": prefix + name, "value": _shown(name, value), "from": source}


def _coerced(key: str, raw: Any, current: Any) -> Any:
    """The file's value as the settings hold it (so a file value overridden by the environment shows so)."""
    table, _, name = key.rpartition(".")
    try:
        data = settings_from_table({table: {name: raw}} if table else {name: raw}, "")
    except ConfigError:
        return object()
    found = data.get(table or name)
    return getattr(found, name) if table else found
