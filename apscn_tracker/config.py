"""Settings: defaults, then ``$APSCN_HOME/config.toml``, then environment variables (which win).

Kept free of heavy imports: every command loads it.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from datetime import date
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A configuration value is wrong; the message says which and how to fix it."""


def default_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "apscn-tracker"


@dataclass(frozen=True)
class ReminderRules:
    renewal_days_before: tuple[int, ...] = (60, 30, 14, 7, 1)
    lapsed_every_days: int = 7
    overdue_every_working_days: int = 5
    details_first_working_days: int = 2
    details_every_working_days: int = 5
    details_max: int = 3


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str | None = field(default=None, repr=False)  # may hold a password
    today: date | None = None
    mail_transport: str = "file"
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_security: str = "none"
    smtp_timeout: float = 30.0
    mail_from: str = "APSCN Tracker <apscn-tracker@localhost>"
    coordinator_email: str | None = None
    coordinator_name: str = "APSCN coordinator"
    timezone: str = "America/Chicago"
    send_hour: int = 7
    activation_working_days: int = 10
    extra_closures: tuple[date, ...] = ()
    removed_closures: tuple[date, ...] = ()
    christmas_collision: str = "before"
    templates_dir: Path | None = None
    max_attempts: int = 12
    reminders: ReminderRules = field(default_factory=ReminderRules)

    @property
    def db_path(self) -> Path:
        return self.home / "apscn.db"

    @property
    def url(self) -> str:
        return self.database_url or f"sqlite:///{self.db_path}"

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @property
    def outbox_dir(self) -> Path:
        return self.home / "outbox"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def config_file(self) -> Path:
        return self.home / "config.toml"


_ENV = {
    "APSCN_DATABASE_URL": "database_url",
    "APSCN_TODAY": "today",
    "APSCN_MAIL_TRANSPORT": "mail_transport",
    "APSCN_SMTP_HOST": "smtp_host",
    "APSCN_SMTP_PORT": "smtp_port",
    "APSCN_SMTP_USER": "smtp_user",
    "APSCN_SMTP_PASSWORD": "smtp_password",
    "APSCN_SMTP_SECURITY": "smtp_security",
    "APSCN_MAIL_FROM": "mail_from",
    "APSCN_COORDINATOR_EMAIL": "coordinator_email",
    "APSCN_TEMPLATES_DIR": "templates_dir",
    "APSCN_TIMEZONE": "timezone",
}

# config.toml keys that may never be stored in the file (secrets come from the environment only)
_SECRET_KEYS = {"smtp_password"}


def parse_date(text: str, what: str = "date") -> date:
    try:
        day = date.fromisoformat(str(text).strip())
    except ValueError:
        raise ConfigError(f"{what} {text!r} is not a date like 2026-06-30") from None
    if not 1990 <= day.year <= 2199:  # the school years the tracker handles; 9999-12-31 has no next year
        raise ConfigError(f"{what} {text!r} is outside the years the tracker handles (1990 to 2199)")
    return day


def _coerce(name: str, value: Any) -> Any:
    if value is None or value == "":
        return None
    if name == "today":
        return value if isinstance(value, date) else parse_date(value, "APSCN_TODAY")
    if name in ("smtp_port", "send_hour", "activation_working_days", "max_attempts"):
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{name} must be a whole number, not {value!r}") from None
        if name == "send_hour" and not 0 <= number <= 23:
            raise ConfigError("send_hour must be 0..23")
        if name == "smtp_port" and not 0 < number < 65536:
            raise ConfigError("smtp_port must be 1..65535")
        if name in ("activation_working_days", "max_attempts") and number < 1:
            raise ConfigError(f"{name} must be at least 1")
        return number
    if name == "smtp_timeout":
        return float(value)
    if name in ("extra_closures", "removed_closures"):
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{name} must be a list of dates")
        return tuple(v if isinstance(v, date) else parse_date(v, name) for v in value)
    if name in ("templates_dir", "home"):
        return Path(str(value)).expanduser()
    if name == "mail_transport" and value not in ("file", "smtp"):
        raise ConfigError(f"mail transport {value!r}: use 'file' or 'smtp'")
    if name == "smtp_security" and value not in ("none", "starttls", "ssl"):
        raise ConfigError(f"smtp security {value!r}: use 'none', 'starttls' or 'ssl'")
    if name == "christmas_collision" and value not in ("before", "after"):
        raise ConfigError(f"christmas_collision {value!r}: use 'before' or 'after'")
    return value


def _reminders(table: Any) -> ReminderRules:
    if not isinstance(table, dict):
        raise ConfigError("[reminders] must be a table")
    known = {f.name for f in fields(ReminderRules)}
    unknown = set(table) - known
    if unknown:
        raise ConfigError(f"unknown [reminders] keys: {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key == "renewal_days_before":
            if not isinstance(value, list) or not all(isinstance(v, int) and v >= 0 for v in value):
                raise ConfigError("reminders.renewal_days_before must be a list of whole days")
            values[key] = tuple(sorted(set(value), reverse=True))
        else:
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"reminders.{key} must be a whole number >= 1")
            values[key] = value
    return ReminderRules(**values)


def load_settings(env: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Build the settings. ``overrides`` (from command-line options) win over everything."""
    env = dict(os.environ if env is None else env)
    home = Path(env.get("APSCN_HOME") or default_home()).expanduser()
    values: dict[str, Any] = {"home": home}
    known = {f.name for f in fields(Settings)} - {"home"}
    cfg_file = home / "config.toml"
    if cfg_file.is_file():
        try:
            data = tomllib.loads(cfg_file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{cfg_file}: not valid TOML ({exc}); fix or remove the file") from None
        for key, value in data.items():
            if key == "reminders":
                values["reminders"] = _reminders(value)
            elif key in _SECRET_KEYS:
                raise ConfigError(f"{cfg_file}: {key} must not be stored in a file; set APSCN_SMTP_PASSWORD")
            elif key in known:
                values[key] = _coerce(key, value)
            else:
                raise ConfigError(f"{cfg_file}: unknown setting {key!r}")
    for var, key in _ENV.items():
        if env.get(var):
            values[key] = _coerce(key, env[var])
    for key, value in overrides.items():
        if value is not None:
            values[key] = _coerce(key, value)
    return Settings(**{k: v for k, v in values.items() if v is not None})


def local_today(settings: Settings) -> date:
    """Today in the configured time zone (APSCN_TODAY wins), not the machine's."""
    if settings.today is not None:
        return settings.today
    from datetime import datetime
    from zoneinfo import ZoneInfo

    try:
        return datetime.now(ZoneInfo(settings.timezone)).date()
    except Exception:  # an unknown zone is reported by doctor; the date falls back to the machine's
        return date.today()
