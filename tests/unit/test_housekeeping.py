"""The periodic clean-up removes what no longer matters and keeps the rest."""

from __future__ import annotations

from sqlmodel import select

from lkk_app.models import AuditEvent, CaptchaChallenge, OneTimeToken, RateEvent, UserSession
from lkk_app.auth import audit, captcha, ratelimit, sessions, users
from lkk_app.core import tokens
from lkk_app.jobs import housekeeping


def test_housekeeping_removes_only_old_rows(db, settings, frozen_clock):
    user = users.create_user(db, login="Kozlov", email="kozlov@example.com",
                             password="Осенний лист 2026", confirmed=True, settings=settings)
    captcha.new_challenge(db, settings=settings)
    ratelimit.hit(db, "resend:user:1", limit=5, window=ratelimit.RECOVERY_PER_IP.window)
    tokens.issue_token(db, user_id=user.id, purpose=tokens.CONFIRM_EMAIL,
                       ttl=tokens.TTL[tokens.CONFIRM_EMAIL])
    old_session = sessions.mint_session(db, user_id=user.id, settings=settings)
    audit.record(db, event=audit.LOGIN_SUCCESS, user_id=user.id)
    db.commit()

    frozen_clock.advance(days=400)
    fresh_session = sessions.mint_session(db, user_id=user.id, settings=settings)
    audit.record(db, event=audit.LOGIN_SUCCESS, user_id=user.id)
    db.commit()
    removed = housekeeping.run(db)
    db.commit()

    assert removed["captcha"] == 1 and removed["rate_events"] == 1
    assert removed["tokens"] == 1 and removed["sessions"] == 1 and removed["audit"] == 1
    assert db.exec(select(CaptchaChallenge)).all() == []
    assert db.exec(select(RateEvent)).all() == [] and db.exec(select(OneTimeToken)).all() == []
    assert len(db.exec(select(UserSession)).all()) == 1
    assert sessions.resolve_session(db, fresh_session, settings=settings) is not None
    assert sessions.resolve_session(db, old_session, settings=settings) is None
    assert len(db.exec(select(AuditEvent)).all()) == 1
