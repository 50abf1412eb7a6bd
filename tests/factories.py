"""Test data, made through the domain functions (keyword-only, like the app's own).

    user = make_user(db, login="ivan", confirmed=False)
    token = make_session(db, user, restricted=True)

Each factory commits, so that the data is there for other sessions, threads
and the app server.  Without ``settings`` the process settings are used
(``get_settings()``: the app's, in the browser and attack tiers).

:func:`make_member` is the exception to "through the domain": a ``User`` row
written directly (no password to hash, no letters), for the billing tests that
only need someone to own contracts.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session

from lkk_app.auth import sessions, users
from lkk_app.billing import binding
from lkk_app.billing.binding_tables import Membership
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


def make_member(
    db: Session,
    login: str,
    *,
    organisation: str | None = None,
    contracts: Sequence[str] = (),
    role: str | None = None,
    now: datetime,
) -> User:
    """A confirmed user written as a row (password hash ``"x"``: never logs in,
    e-mail ``<login>@example.org``), made at ``now`` and committed.  With
    ``contracts``, bound to them in ``organisation`` (``binding.bind``: the
    first to bind administers it); with a ``role`` and no contracts, only a
    member of ``organisation`` in that role."""
    if (contracts or role) and not organisation:
        raise ValueError("contracts and a role belong to an organisation")
    if contracts and role:
        raise ValueError("binding the contracts decides the role")
    email = f"{login}@example.org"
    user = User(login=login, login_key=login, login_skeleton=login, email=email, email_key=email,
                password_hash="x", created_at=now, updated_at=now, email_confirmed_at=now)
    db.add(user)
    db.flush()
    assert user.id is not None
    if organisation and contracts:
        binding.bind(db, user_id=user.id, organisation_key=organisation, contract_keys=list(contracts), now=now)
    elif organisation and role:
        db.add(Membership(user_id=user.id, organisation_key=organisation, role=role, created_at=now))
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
