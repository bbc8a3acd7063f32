"""Settings: defaults, then config.toml, then the environment, then options."""

from datetime import date

import pytest

from apscn_tracker.config import ConfigError, load_settings
from apscn_tracker.resources import data_dir
from apscn_tracker.services.app import App


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
        ("nonsense = 1", "unknown setting"),
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
