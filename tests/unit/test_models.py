"""Every time column holds naive UTC, on SQLite and PostgreSQL alike, so the
services compare and store ``clock.utcnow()`` values as they are."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import SQLModel, select

from lkk_app import models
from lkk_app.auth import captcha, ratelimit, users
from lkk_app.billing.adapters import demo_tables  # noqa: F401 - registers the demo tables
from lkk_app.core import tokens
from lkk_app.mail import outbox


def test_every_time_column_is_without_time_zone():
    columns = [(table.name, column.name) for table in SQLModel.metadata.tables.values()
               for column in table.columns if isinstance(column.type, sa.DateTime)]
    assert len(columns) >= 25
    aware = [name for name in columns
             if SQLModel.metadata.tables[name[0]].columns[name[1]].type.timezone]
    assert aware == []


def test_times_come_back_as_they_were_stored(db, settings, frozen_clock):
    user = users.create_user(db, login="ivan", email="ivan@example.com",
                             password="Длинный пароль 2026", settings=settings)
    tokens.issue_token(db, user_id=user.id, purpose=tokens.CONFIRM_EMAIL, ttl=tokens.TTL[tokens.CONFIRM_EMAIL])
    captcha.new_challenge(db, settings=settings)
    assert ratelimit.hit(db, "test:bucket", limit=5, window=ratelimit.LONGEST_WINDOW)
    outbox.enqueue(db, kind="test", template="password_changed", recipient="a@example.com",
                   params={"login": "ivan"}, settings=settings)
    db.commit()
    db.expunge_all()
    now = frozen_clock.now
    for model in (models.User, models.OneTimeToken, models.CaptchaChallenge, models.RateEvent,
                  models.OutboxMessage):
        row = db.exec(select(model)).one()
        assert row.created_at == now and row.created_at.tzinfo is None, model.__name__
