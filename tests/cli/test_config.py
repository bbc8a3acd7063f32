"""Settings: defaults, then config.toml, then the environment, then options."""

from datetime import date

import pytest

from apscn_tracker.config import ConfigError, load_settings
from apscn_tracker.resources import data_dir
from apscn_tracker.services.app import App
from tests.support.snapshot import snapshot


def test_the_environment_wins_over_the_file(home):
    home.mkdir(parents=True)
    (home / "config.toml").write_text('mail_transport = "smtp"\nsend_hour = 6\n[reminders]\nlapsed_every_days = 3\n')
    s = load_settings(env={"APSCN_HOME": str(home), "APSCN_MAIL_TRANSPORT": "file", "APSCN_TODAY": "2027-06-30"})
    assert (s.mail_transport, s.send_hour, s.today, s.reminders.lapsed_every_days) == ("file", 6, date(2027, 6, 30), 3)


def test_the_example_configuration_is_valid(home):
    home.mkdir(parents=True)
    (home / "config.toml").write_text((data_dir() / "config.example.toml").read_text())
    s = load_settings()
    assert s.reminders.renewal_days_before == (60, 30, 14, 7, 1) and s.coordinator_email is None


def test_init_leaves_the_example_configuration_and_the_demo_names_its_coordinator(home, cli):
    assert cli("init", "--demo").exit_code == 0
    assert (home / "config.toml").stat().st_mode & 0o077 == 0
    assert load_settings().coordinator_email == "coordinator@coop.example"


def test_today_is_taken_in_the_configured_time_zone(home):
    from freezegun import freeze_time

    from apscn_tracker.config import local_today

    with freeze_time("2027-07-01 03:30:00"):  # UTC: still June 30 in Arkansas
        assert local_today(load_settings()) == date(2027, 6, 30)
        assert local_today(load_settings(timezone="UTC")) == date(2027, 7, 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("smtp_password = 'hunter2'", "must not be stored"),
        ("nonsense = 1", "unknown key 'nonsense' in the top level"),
        ("send_our = 8", "the nearest known key is 'send_hour'"),
        ("[reminders]\nlapsed_every_day = 3", r"'lapsed_every_day' in \[reminders\].*nearest .* 'lapsed_every_days'"),
        ("[reminders]\ncoordinator_email = 'c@x.org'", r"coordinator_email .* is in \[reminders\], not at the top"),
        ("send_hour = 25", "0..23"),
        ("mail_transport = 'pigeon'", "file"),
        ("extra_closures = ['2026-13-01']", "not a date"),
        ("[reminders]\nrenewal_days_before = 'soon'", "list of whole days"),
        ("this is not toml", "not valid TOML"),
    ],
)
def test_a_bad_configuration_file_is_refused_with_the_reason(home, text, message):
    home.mkdir(parents=True)
    (home / "config.toml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings()


def test_extra_closures_from_configuration_are_not_working_days(home):
    home.mkdir(parents=True)
    (home / "config.toml").write_text("extra_closures = ['2026-12-28']\n")
    assert not App(load_settings()).calendar.is_working_day(date(2026, 12, 28))


def test_a_bad_configuration_is_one_line_for_the_user(home, cli):
    home.mkdir(parents=True)
    (home / "config.toml").write_text("send_hour = 'seven'\n")
    result = cli("status")
    assert result.exit_code == 1 and result.stderr.strip().startswith("error: send_hour")


# Every setting is checked at load, whichever way it comes: a wrong one is one line naming the file (or the
# variable), the key, what was given and what is expected; no command runs on it, doctor included.
BAD_FILE = [
    ('smtp_timeout = "abc"', "smtp_timeout = 'abc'"),
    ("smtp_timeout = -1", "smtp_timeout = -1"),
    ("smtp_timeout = 1e9", "smtp_timeout"),
    ("smtp_timeout = nan", "smtp_timeout = nan"),
    ("timezone = 5", "timezone = 5"),
    ('timezone = "Mars/Olympus"', "not a known time zone"),
    ('timezone = "America"', "timezone = 'America'"),
    ('timezone = "../../../etc/passwd"', "timezone"),
    ('coordinator_email = ["coordinator@coop.example"]', "coordinator_email = ["),
    ('coordinator_email = "a@coop.example, b@coop.example"', "one email address"),
    ('coordinator_email = "a:b@coop.example"', "coordinator_email"),
    ("database_url = 5", "database_url = 5"),
    ('database_url = "mysql://coord:s3cret@db.example/apscn"', "scheme 'mysql'"),
    ('database_url = "host=db.example password=s3cret"', "not a URL"),
    ("[reminders]\nrenewal_days_before = [100000000]", "reminders.renewal_days_before = [100000000]"),
    ("[reminders]\nrenewal_days_before = [30, 30]", "30 listed twice"),
    ("[reminders]\nrenewal_days_before = [0]", "from 1 to 366"),
    ("[reminders]\nrenewal_days_before = [true]", "renewal_days_before = [true]"),
    ("[reminders]\nlapsed_every_days = 0", "reminders.lapsed_every_days = 0"),
    ("[reminders]\ndetails_max = 1000", "reminders.details_max = 1000"),
    ('[reminders]\noverdue_every_working_days = "5x"', "reminders.overdue_every_working_days"),
    ("[reminders]\ndetails_every_working_days = 99999999999999999999", "details_every_working_days"),
    ("[reminders]\nsoon = 1", "soon"),
    ("reminders = 5", "[reminders]"),
    ("activation_working_days = 100000000", "activation_working_days = 100000000"),
    ("activation_working_days = 0", "from 1 to 60"),
    ("send_hour = -1", "send_hour = -1"),
    ("send_hour = 7.5", "send_hour = 7.5"),
    ("max_attempts = 0", "max_attempts = 0"),
    ("max_attempts = 101", "from 1 to 100"),
    ("smtp_port = 0", "smtp_port = 0"),
    ("smtp_port = 65536", "from 1 to 65535"),
    ("mail_transport = 5", "mail_transport = 5"),
    ('smtp_security = "tls"', "'none', 'starttls' or 'ssl'"),
    ('christmas_collision = "never"', "'before' or 'after'"),
    ('extra_closures = "2026-12-28"', "extra_closures = '2026-12-28'"),
    ('extra_closures = ["2026-02-30"]', "'2026-02-30': not a date"),
    ("removed_closures = [5]", "removed_closures = [5]"),
    ("extra_closures = [9999-12-31]", "9999-12-31: a date from 1990 to 2199"),
    ('today = "tomorrow"', "today = 'tomorrow'"),
    ('smtp_host = "smtp.example.org\\r\\nRCPT TO:<x@y>"', "smtp_host"),
    ('smtp_host = "smtp.example.org\\n"', "smtp_host = 'smtp.example.org\\n'"),
    ("smtp_user = ['apscn']", "smtp_user = ['apscn']"),
    ("mail_from = 5", "mail_from = 5"),
    ('coordinator_name = "Casey\\nBcc: x@y.example"', "coordinator_name"),
    ("templates_dir = 5", "templates_dir = 5"),
]
BAD_ENV = [
    ("APSCN_SMTP_PORT", "abc", "smtp_port = 'abc'"),
    ("APSCN_SMTP_PORT", "70000", "from 1 to 65535"),
    ("APSCN_TIMEZONE", "Nowhere/Zone", "not a known time zone"),
    ("APSCN_DATABASE_URL", "mysql://coord:s3cret@db.example/apscn", "scheme 'mysql'"),
    ("APSCN_COORDINATOR_EMAIL", "a@coop.example, b@coop.example", "one email address"),
    ("APSCN_MAIL_TRANSPORT", "pigeon", "'file' or 'smtp'"),
    ("APSCN_SMTP_SECURITY", "tls", "'none', 'starttls' or 'ssl'"),
    ("APSCN_SMTP_HOST", "two words", "smtp_host = 'two words'"),
    ("APSCN_TODAY", "2026-13-01", "today = '2026-13-01' from APSCN_TODAY: not a date"),
]


def files_of(home):
    """Every file but the ledger's own (its content is compared by ``snapshot``; SQLite folds its WAL back into
    the file whenever the last connection of any earlier command is collected)."""
    return sorted(
        (str(p), p.stat().st_size, p.stat().st_mtime_ns)
        for p in home.rglob("*")
        if p.is_file() and not p.name.startswith("apscn.db")
    )


def refused_by_every_command(cli, home, good_url, needle, where):
    """status, tick and doctor each refuse with one line naming ``where`` and ``needle``; nothing written."""
    db_before = snapshot(good_url)
    files_before = files_of(home)
    for command in ("status", "tick", "doctor"):
        result = cli(command)
        assert result.exit_code == 1, (command, result.output)
        assert "Traceback" not in result.output and "s3cret" not in result.output, (command, result.output)
        if command == "doctor":  # doctor reports it as its configuration check, on standard output
            assert result.stderr == "" and result.stdout.startswith("FAIL configuration: "), result.output
            line = result.stdout.splitlines()[0].removeprefix("FAIL configuration: ")
        else:
            assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
            line = result.stderr.removeprefix("error: ")
        assert needle in line and where in line and "expected" in line, (command, line)
    assert files_of(home) == files_before
    assert snapshot(good_url) == db_before


def with_line(cfg_text, text):
    """The example configuration with ``text`` in place of its own line for that key (or table key)."""
    head, table = cfg_text.split("\n[reminders]\n", 1)
    if text.startswith("[reminders]"):
        return f"{head}\n{text}\n"
    key = text.split(" = ")[0]
    kept = "\n".join(x for x in head.splitlines() if not x.startswith(f"{key} "))
    return f"{text}\n{kept}\n" + ("" if key == "reminders" else f"[reminders]\n{table}")


@pytest.mark.parametrize(("text", "needle"), BAD_FILE, ids=[t for t, _ in BAD_FILE])
def test_a_wrong_setting_in_the_file_is_one_line_naming_the_file_and_the_key(home, cli, text, needle):
    assert cli("init").exit_code == 0
    good_url = load_settings().url
    cfg = home / "config.toml"
    cfg.write_text(with_line(cfg.read_text(encoding="utf-8"), text), encoding="utf-8")
    refused_by_every_command(cli, home, good_url, needle, str(cfg))


@pytest.mark.parametrize(("var", "value", "needle"), BAD_ENV, ids=[v for v, _, _ in BAD_ENV])
def test_a_wrong_setting_in_the_environment_is_one_line_naming_the_variable(home, cli, monkeypatch, var, value, needle):
    assert cli("init").exit_code == 0
    good_url = load_settings().url
    monkeypatch.setenv(var, value)
    refused_by_every_command(cli, home, good_url, needle, var)


def test_a_wrong_option_is_refused_like_a_wrong_file_value(home):
    with pytest.raises(ConfigError, match=r"^smtp_timeout = 'abc' from the options: expected a number of seconds"):
        load_settings(smtp_timeout="abc")
    with pytest.raises(ConfigError, match="unknown setting 'smtp_timout'"):
        load_settings(smtp_timout=5)


def test_settings_given_as_text_are_converted_and_checked(home):
    env = {"APSCN_HOME": str(home), "APSCN_SMTP_PORT": "587", "APSCN_TIMEZONE": "UTC", "APSCN_TODAY": "2027-06-30"}
    s = load_settings(env=env, smtp_timeout="2.5", send_hour="6", extra_closures=["2026-12-28"])
    assert (s.smtp_port, s.timezone, s.smtp_timeout, s.send_hour) == (587, "UTC", 2.5, 6)
    assert (s.today, s.extra_closures) == (date(2027, 6, 30), (date(2026, 12, 28),))


def test_the_reminder_days_are_kept_from_the_latest_to_the_earliest(home):
    home.mkdir(parents=True)
    (home / "config.toml").write_text("[reminders]\nrenewal_days_before = [1, 366, 30]\n")
    assert load_settings().reminders.renewal_days_before == (366, 30, 1)
