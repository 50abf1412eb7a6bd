"""Values shown to people, formatted the Russian way.

Times are stored as naive UTC (``clock.utcnow``) and shown in the supplier's
time zone, ``LKK_TIME_ZONE`` (default Europe/Moscow).
"""

from __future__ import annotations

from datetime import UTC, datetime

from lkk_app.settings import Settings, get_settings

DATETIME_FORMAT = "%d.%m.%Y %H:%M"


def local_datetime(dt_utc: datetime, *, settings: Settings | None = None) -> str:
    """``dt_utc`` in the supplier's time zone as ``03.12.2026 14:05``.

    A naive value is UTC (how every column stores time); an aware one is
    converted from its own zone.
    """
    zone = (settings or get_settings()).zone
    aware = dt_utc.replace(tzinfo=UTC) if dt_utc.tzinfo is None else dt_utc
    return aware.astimezone(zone).strftime(DATETIME_FORMAT)
