"""Settings: defaults, then ``$APSCN_HOME/config.toml``, then environment variables (which win), then options.

Every value is checked here, whichever way it comes (type, range, a known time zone, one address, a known
database scheme): a wrong one is a ``ConfigError`` of one line naming the key, the file or variable it came
from, what was given (never a secret or a database URL) and what is expected. Nothing past ``load_settings``
sees an unchecked value. Kept free of heavy imports: every command loads it.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from apscn_tracker import config_values as cv
from apscn_tracker.errors import InputError


class ConfigError(InputError):
    """A configuration value is wrong; the message says which and how to fix it."""


def default_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")) / "apscn-tracker"


@dataclass(frozen=True)
class ReminderRules:
    renewal_days_before: tuple[int, ...] = (60, 30, 14, 7, 1)
    lapsed_every_days: int = 7
    lapsed_weekly_days: int = 28
    lapsed_then_every_days: int = 28
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
    smtp_ca_file: Path | None = None  # PEM certificates trusted for the SMTP server, beside the system's
    mail_from: str = "APSCN Tracker <apscn-tracker@localhost>"
    coordinator_email: str | None = None
    coordinator_name: str = "APSCN coordinator"
    bounce_address: str | None = None  # the envelope sender, where bounces go; default the coordinator
    request_form_url: str | None = None  # where districts submit the APSCN form; shown in every district email
    timezone: str = "America/Chicago"
    send_hour: int = 7
    activation_working_days: int = 10
    extra_closures: tuple[date, ...] = ()
    removed_closures: tuple[date, ...] = ()
    christmas_collision: str = "before"
    templates_dir: Path | None = None
    max_attempts: int = 12
    public_url: str | None = None  # where the team reaches `apscn serve` (https behind a TLS proxy)
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
    "APSCN_SMTP_CA_FILE": "smtp_ca_file",
    "APSCN_BOUNCE_ADDRESS": "bounce_address",
    "APSCN_MAIL_FROM": "mail_from",
    "APSCN_COORDINATOR_EMAIL": "coordinator_email",
    "APSCN_TEMPLATES_DIR": "templates_dir",
    "APSCN_TIMEZONE": "timezone",
    "APSCN_PUBLIC_URL": "public_url",
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


Check = cv.Check
_CHECKS: dict[str, Check] = {
    "home": cv.path,
    "database_url": cv.database_url,
    "today": cv.day,
    "mail_transport": cv.choice("file", "smtp"),
    "smtp_host": cv.host,
    "smtp_port": cv.whole(1, 65535, "a port number"),
    "smtp_user": cv.text(254),
    "smtp_password": cv.text(1024),
    "smtp_security": cv.choice("none", "starttls", "ssl"),
    "smtp_timeout": cv.seconds(600),
    "smtp_ca_file": cv.pem_file,
    "mail_from": cv.text(998, "one sender line like 'APSCN Tracker <tracker@coop.k12.ar.us>'"),
    "coordinator_email": cv.address,
    "coordinator_name": cv.text(200),
    "bounce_address": cv.address,
    "request_form_url": cv.web_url,
    "timezone": cv.zone,
    "send_hour": cv.whole(0, 23, expected="a whole hour of the day, 0..23"),
    "activation_working_days": cv.whole(1, 60, "a number of working days"),
    "extra_closures": cv.days,
    "removed_closures": cv.days,
    "christmas_collision": cv.choice("before", "after"),
    "templates_dir": cv.path,
    "max_attempts": cv.whole(1, 100, "a number of tries"),
    "public_url": cv.public_url,
}
_REMINDER_CHECKS: dict[str, Check] = {
    "renewal_days_before": cv.renewal_days,
    "lapsed_every_days": cv.whole(1, 366, "a number of days"),
    "lapsed_weekly_days": cv.whole(0, 366, "a number of days"),
    "lapsed_then_every_days": cv.whole(1, 366, "a number of days"),
    "overdue_every_working_days": cv.whole(1, 60, "a number of working days"),
    "details_first_working_days": cv.whole(1, 60, "a number of working days"),
    "details_every_working_days": cv.whole(1, 60, "a number of working days"),
    "details_max": cv.whole(1, 100, "a number of reminders"),
}


def _shown(key: str, value: Any) -> str:
    """The value as the message shows it: never a secret or a database URL (it may carry a password)."""
    if key in _SECRET_KEYS or (key == "database_url" and isinstance(value, str)):
        return ""
    return f" = {cv.toml(value)}"


def _checked(key: str, value: Any, where: str, checks: dict[str, Check], prefix: str = "") -> Any:
    """``value`` converted, or ``ConfigError``: one line naming the key, where it came from, what it was and what
    is expected."""
    try:
        return checks[key](value)
    except cv.Bad as bad:
        problem = f"{bad.problem}; " if bad.problem else ""
        raise ConfigError(f"{prefix}{key}{_shown(key, value)} {where}: {problem}expected {bad.expected}") from None


def _coerce(name: str, value: Any, where: str = "from the options") -> Any:
    if value is None or value == "":
        return None
    if name == "reminders":
        return value if isinstance(value, ReminderRules) else _reminders(value, where)
    return _checked(name, value, where, _CHECKS)


def _reminders(table: Any, where: str = "from the options") -> ReminderRules:
    if not isinstance(table, dict):
        raise ConfigError(f"[reminders] {where}: expected a table of reminder settings")
    for key in sorted(set(table) - set(_REMINDER_CHECKS))[:1]:  # the first unknown key, if any
        raise ConfigError(unknown_key(key, "reminders", where))
    values = {key: _checked(key, value, where, _REMINDER_CHECKS, "reminders.") for key, value in table.items()}
    return ReminderRules(**values)


def unknown_key(key: str, table: str, where: str) -> str:
    """The line for a key config.toml does not know: its table, and the nearest known key."""
    known = list(_REMINDER_CHECKS) if table else [k for k in _CHECKS if k not in ("home", "today", *_SECRET_KEYS)]
    if table and key in _CHECKS:  # written below the [reminders] line: every key there belongs to it
        return f"{key} {where} is in [{table}], not at the top level: it is below the [{table}] line; move it up"
    nearest = difflib.get_close_matches(key, known, n=1, cutoff=0.5)
    hint = f"the nearest known key is {nearest[0]!r}" if nearest else f"expected one of {', '.join(known)}"
    return f"unknown key {key!r} in {f'[{table}]' if table else 'the top level'} {where}; {hint}"


def settings_from_table(data: dict[str, Any], where: str) -> dict[str, Any]:
    """The settings of a parsed config.toml, each checked; ``ConfigError`` names the first wrong one."""
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key == "reminders":
            values["reminders"] = _reminders(value, where)
        elif key in _SECRET_KEYS:
            raise ConfigError(f"{key} must not be stored in a file ({where}); set APSCN_SMTP_PASSWORD")
        elif key in {f.name for f in fields(Settings)} - {"home"}:
            values[key] = _coerce(key, value, where)
        else:  # an unknown key: its table and the nearest known key
            raise ConfigError(unknown_key(key, "", where))
    return values


def load_settings(env: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Build the settings. ``overrides`` (from command-line options) win over everything."""
    env = dict(os.environ if env is None else env)
    home = _coerce("home", env.get("APSCN_HOME") or str(default_home()), "from APSCN_HOME")
    values: dict[str, Any] = {"home": home}
    cfg_file = home / "config.toml"
    if cfg_file.is_file():
        try:
            data = tomllib.loads(cfg_file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{cfg_file}: not valid TOML ({exc}); fix or remove the file") from None
        values.update(settings_from_table(data, f"in {cfg_file}"))
    for var, key in _ENV.items():
        if env.get(var):
            values[key] = _coerce(key, env[var], f"from {var}")
    for key, value in overrides.items():
        if key not in {f.name for f in fields(Settings)}:
            raise ConfigError(f"unknown setting {key!r} from the options")
        if value is not None:
            values[key] = _coerce(key, value)
    return Settings(**{k: v for k, v in values.items() if v is not None})


def local_today(settings: Settings) -> date:
    """Today in the configured time zone (APSCN_TODAY wins), not the machine's."""
    if settings.today is not None:
        return settings.today
    try:
        return datetime.now(ZoneInfo(settings.timezone)).date()
    except Exception:  # refused at load; a Settings built by hand with an unknown zone: the machine's date
        return date.today()
