"""Periodic clean-up of rows that no longer matter: expired captcha challenges,
old rate-limit events and login-failure counters, expired one-time tokens,
ended sessions, audit events past their retention, and known devices not seen
for a year."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, col, delete

from lkk_app.auth import captcha, devices, ratelimit, sessions, throttle
from lkk_app.core import clock, tokens
from lkk_app.models import AuditEvent

AUDIT_RETENTION = timedelta(days=365)


def purge_audit(session: Session, older_than: timedelta = AUDIT_RETENTION) -> int:
    cutoff = clock.utcnow() - older_than
    result = session.exec(delete(AuditEvent).where(col(AuditEvent.created_at) < cutoff))
    return result.rowcount or 0


def run(session: Session) -> dict[str, int]:
    """One pass over every table; returns how many rows each part removed."""
    return {
        "captcha": captcha.purge_expired(session),
        "rate_events": ratelimit.purge(session),
        "login_throttle": throttle.purge(session),
        "tokens": tokens.purge_tokens(session),
        "sessions": sessions.purge_sessions(session),
        "audit": purge_audit(session),
        "devices": devices.purge(session),
    }
