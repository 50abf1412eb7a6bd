"""Short-lived signed values (HMAC-SHA-256 with the secret key) for low-value,
stateless facts such as "this browser just proved the password of an account
whose e-mail is not confirmed yet"."""

from __future__ import annotations

import base64
import calendar
import hashlib
import hmac
from datetime import timedelta

from lkk_app.core import clock
from lkk_app.settings import Settings, get_settings


def _epoch(offset: timedelta = timedelta()) -> int:
    return calendar.timegm((clock.utcnow() + offset).utctimetuple())


def _mac(payload: str, purpose: str, settings: Settings) -> str:
    digest = hmac.new(settings.secret_key, f"{purpose}|{payload}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign(value: str, *, purpose: str, ttl: timedelta, settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    expires = _epoch(ttl)
    payload = f"{value}.{expires}"
    return f"{payload}.{_mac(payload, purpose, settings)}"


def unsign(signed: str | None, *, purpose: str, settings: Settings | None = None) -> str | None:
    """The signed value, or None when forged, for another purpose, or expired."""
    settings = settings or get_settings()
    if not signed or len(signed) > 256 or signed.count(".") < 2:
        return None
    payload, mac = signed.rsplit(".", 1)
    if not hmac.compare_digest(mac, _mac(payload, purpose, settings)):
        return None
    value, expires = payload.rsplit(".", 1)
    try:
        if int(expires) < _epoch():
            return None
    except ValueError:
        return None
    return value
