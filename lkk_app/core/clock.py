"""The one source of "now" for the services.

Always call it through the module (``clock.utcnow()``), never
``from ... import utcnow``: tests move time by monkeypatching this function.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current time as a naive UTC ``datetime`` (how every column stores time)."""
    return datetime.now(UTC).replace(tzinfo=None)
