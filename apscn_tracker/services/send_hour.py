"""The scheduler's clock, checked by ``apscn doctor`` as well: the configured time zone, and a send hour that no
daylight-saving change can skip or double."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscn_tracker.config import ConfigError, Settings


def zone(settings: Settings) -> ZoneInfo:
    try:
        return ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"timezone {settings.timezone!r} is not a known time zone (like America/Chicago)") from None


def dst_hours(tz: ZoneInfo, years: tuple[int, ...]) -> set[int]:
    """Local hours that are skipped or repeated on a daylight-saving change day in ``years``, plus the hour
    after each (a job there can run twice, never, or right after a jump). America/Chicago: 1, 2 and 3."""
    hours: set[int] = set()
    for year in years:
        day = date(year, 1, 1)
        while day.year == year:
            midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
            nxt = midnight + timedelta(days=1)
            if midnight.utcoffset() != nxt.utcoffset():
                for hour in range(24):
                    wall = datetime(day.year, day.month, day.day, hour, 30, tzinfo=tz)
                    skipped = wall.astimezone(ZoneInfo("UTC")).astimezone(tz).replace(tzinfo=None) != wall.replace(
                        tzinfo=None
                    )
                    repeated = wall.replace(fold=0).utcoffset() != wall.replace(fold=1).utcoffset()
                    if skipped or repeated:
                        hours.update({hour, (hour + 1) % 24})
            day += timedelta(days=1)
    return hours


def check_send_hour(settings: Settings, *, today: date | None = None) -> None:
    """Refuse a send hour inside the daylight-saving switch hours of the configured zone."""
    tz = zone(settings)
    year = (today or date.today()).year
    bad = dst_hours(tz, (year, year + 1))
    if settings.send_hour in bad:
        listed = ", ".join(str(h) for h in sorted(bad))
        raise ConfigError(
            f"send_hour {settings.send_hour} falls in the daylight-saving switch hours of {settings.timezone} "
            f"({listed}): a run there can be skipped or doubled; choose another hour in config.toml "
            f"(the default is 7)"
        )
