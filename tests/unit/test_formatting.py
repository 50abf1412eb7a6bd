"""Times as people see them: in LKK_TIME_ZONE (default Europe/Moscow), ``03.12.2026 14:05``."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

from lkk_app.core.formatting import local_datetime
from lkk_app.settings import reload_settings


def test_moscow_is_three_hours_ahead_of_utc_all_year(settings):
    # No daylight saving time since 2014: winter and summer alike.
    assert local_datetime(datetime(2026, 12, 3, 11, 5), settings=settings) == "03.12.2026 14:05"
    assert local_datetime(datetime(2026, 7, 1, 11, 5), settings=settings) == "01.07.2026 14:05"
    # Across midnight and the year's end.
    assert local_datetime(datetime(2026, 12, 31, 22, 30), settings=settings) == "01.01.2027 01:30"


def test_naive_is_utc_and_aware_is_converted(settings):
    naive = datetime(2026, 3, 1, 9, 0)
    assert local_datetime(naive, settings=settings) == "01.03.2026 12:00"
    assert local_datetime(naive.replace(tzinfo=UTC), settings=settings) == "01.03.2026 12:00"
    yekaterinburg = timezone(timedelta(hours=5))
    assert local_datetime(datetime(2026, 3, 1, 14, 0, tzinfo=yekaterinburg), settings=settings) == (
        "01.03.2026 12:00")


def test_another_zone_comes_from_the_settings(settings, monkeypatch):
    berlin = dataclasses.replace(settings, time_zone="Europe/Berlin")
    # Berlin keeps daylight saving time: +1 in winter, +2 in summer.
    assert local_datetime(datetime(2026, 1, 15, 9, 0), settings=berlin) == "15.01.2026 10:00"
    assert local_datetime(datetime(2026, 7, 15, 9, 0), settings=berlin) == "15.07.2026 11:00"
    # Without explicit settings, the process's settings (LKK_TIME_ZONE) decide.
    assert local_datetime(datetime(2026, 7, 15, 9, 0)) == "15.07.2026 12:00"
    monkeypatch.setenv("LKK_TIME_ZONE", "Asia/Vladivostok")
    reload_settings()
    assert local_datetime(datetime(2026, 7, 15, 9, 0)) == "15.07.2026 19:00"
