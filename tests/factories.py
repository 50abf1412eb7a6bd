"""Test data, made through the domain functions (keyword-only, like the app's own).

    user = make_user(db, login="ivan", confirmed=False)
    token = make_session(db, user, restricted=True)

Each factory commits, so that the data is there for other sessions, threads
and the app server.  Without ``settings`` the process settings are used
(``get_settings()``: the app's, in the browser and attack tiers).
"""

from __future__ import annotations

import itertools
import os

from sqlmodel import Session

from lkk_app.auth import sessions, users
from lkk_app.models import User
from lkk_app.settings import Settings

PASSWORD = "Проверка-пароля-42"

_numbers = itertools.count(1)


def unique_login(prefix: str = "user") -> str:
    """A login no other test of this run uses (parallel workers included)."""
    return f"{prefix}{os.getpid()}x{next(_numbers)}"[:32]


def make_user(
    db: Session,
    *,
    login: str | None = None,
    email: str | None = None,
    password: str = PASSWORD,
    confirmed: bool = True,
    phone: str | None = None,
    settings: Settings | None = None,
) -> User:
    """A user (confirmed unless told otherwise), committed; e-mail ``<login>@example.com``
    unless given."""
    login = login or unique_login()
    user = users.create_user(db, login=login, email=email or f"{login}@example.com",
                             password=password, confirmed=confirmed, settings=settings)
    if phone is not None:
        user.phone = phone
        db.add(user)
    db.commit()
    return user


def make_session(
    db: Session,
    user: User | int,
    *,
    restricted: bool = False,
    ip: str = "127.0.0.1",
    user_agent: str = "pytest",
    settings: Settings | None = None,
) -> str:
    """A real session token of ``user`` (restricted to the password change when asked), committed."""
    user_id = user if isinstance(user, int) else user.id
    token = sessions.mint_session(db, user_id=user_id, ip=ip, user_agent=user_agent,
                                  settings=settings, must_change_password=restricted)
    db.commit()
    return token
