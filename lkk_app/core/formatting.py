"""Values shown to people, formatted the Russian way.

Times are stored as naive UTC (``clock.utcnow``) and shown in the supplier's
time zone, ``LKK_TIME_ZONE`` (default Europe/Moscow).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

from lkk_app.core import clock
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


def local_datetime_zoned(dt_utc: datetime, *, settings: Settings | None = None) -> str:
    """:func:`local_datetime` with the zone's offset from UTC then, for a reader
    elsewhere: ``03.12.2026 14:05 (UTC+3)``, ``… (UTC+5:30)``."""
    zone = (settings or get_settings()).zone
    aware = dt_utc.replace(tzinfo=UTC) if dt_utc.tzinfo is None else dt_utc
    offset = aware.astimezone(zone).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "−"
    hours, rest = divmod(abs(minutes), 60)
    zone_text = f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "") if minutes else "UTC"
    return f"{local_datetime(aware, settings=settings)} ({zone_text})"


def local_today(settings: Settings | None = None) -> date:
    """Today's date in the supplier's time zone (reading windows, periods)."""
    zone = (settings or get_settings()).zone
    return clock.utcnow().replace(tzinfo=UTC).astimezone(zone).date()


# The catalogue's names of the months, January first («ноябрь 2026»).
MONTHS = ("month.january", "month.february", "month.march", "month.april", "month.may", "month.june",
          "month.july", "month.august", "month.september", "month.october", "month.november", "month.december")
_GROUP = "\u00a0"  # thousands are set apart by a no-break space


def number(value: Decimal | int, places: int | None = None) -> str:
    """``Decimal("1234567.891")`` → «1 234 567,891»; with ``places`` rounded to that
    many digits after the comma («1 234 567,89»)."""
    amount = Decimal(value)
    if places is not None:
        amount = amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    sign = "−" if amount < 0 else ""
    whole, _, fraction = format(abs(amount), "f").partition(".")
    grouped = f"{int(whole):,}".replace(",", _GROUP)
    return sign + grouped + ("," + fraction if fraction else "")


def date_text(day: date | None) -> str:
    """«03.12.2026» (``""`` for none)."""
    return day.strftime("%d.%m.%Y") if day else ""


def day_month(day: date) -> str:
    """«23.11»."""
    return day.strftime("%d.%m")


def month_text(period: date) -> str:
    """The billing month: «ноябрь 2026»."""
    from lkk_app.i18n import t  # the catalogue formats its parameters with this module

    return f"{t(MONTHS[period.month - 1])} {period.year}"
