"""Accounts: registration, login check, password change.

None of these functions commits: the caller owns the transaction (for
example ``db.session_scope()``), so a user row and the mail that belongs to it
are committed together or not at all.  They flush, so generated ids are
available at once.  bcrypt makes ``create_user``, ``authenticate`` and
``set_password`` slow on purpose — call them from a worker thread.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, or_, select

from lkk_app.auth import passwords, validation
from lkk_app.core import clock
from lkk_app.core.errors import AuthenticationFailed, Code, FieldErrors
from lkk_app.db import dialect_insert, upserts
from lkk_app.models import User
from lkk_app.settings import Settings, get_settings

# Raw login input longer than this cannot be a login (32 characters after NFKC);
# such a request is refused without a database query.
MAX_LOGIN_INPUT = 256


def get_user(session: Session, user_id: int | None) -> User | None:
    if not isinstance(user_id, int) or isinstance(user_id, bool):
        return None
    return session.get(User, user_id)


def signed_in_user(session: Session, user_id: int) -> User:
    """The user of a live session (it exists: deleting a user ends its sessions)."""
    user = get_user(session, user_id)
    if user is None:
        raise LookupError(f"no user {user_id}")
    return user


def _lookup_key(login: str | None) -> str | None:
    """The login key to search for, or ``None`` when the input cannot be any login."""
    if not isinstance(login, str) or len(login) > MAX_LOGIN_INPUT:
        return None
    key = validation.login_key(login)
    # Control characters (NUL above all: PostgreSQL refuses it in a query) never
    # occur in a stored login.
    if not key or len(key) > 64 or any(ord(ch) < 32 or ord(ch) == 127 for ch in key):
        return None
    return key


def get_user_by_login(session: Session, login: str | None) -> User | None:
    """The user whose login matches case-insensitively (after NFKC), or ``None``."""
    key = _lookup_key(login)
    if key is None:
        return None
    return session.exec(select(User).where(User.login_key == key)).first()


def _login_taken(session: Session, login: str) -> bool:
    """Taken: the same login in another case, or one that looks alike (the same
    UTS #39 skeleton: ``ivanоv`` with a Cyrillic «о», ``ivan0v``, ``IVANOV``)."""
    key = validation.login_key(login)
    skeleton = validation.login_skeleton(login)
    return session.exec(
        select(User.id).where(or_(User.login_key == key, User.login_skeleton == skeleton))
    ).first() is not None


def _insert_user(session: Session, values: dict) -> User | None:
    """Insert the row; ``None`` when the login key or its skeleton is already
    taken (a lost race).

    PostgreSQL aborts the whole transaction on a unique violation, and pysqlite
    (Python's sqlite3 in its default transaction mode) lets the RELEASE of a
    first SAVEPOINT commit the caller's transaction.  ``INSERT … ON CONFLICT
    DO NOTHING RETURNING`` (any unique column: ``login_key``,
    ``login_skeleton``) avoids both: a conflict simply returns no row and the
    caller's transaction goes on untouched.  Other dialects
    fall back to a SAVEPOINT around the flush.
    """
    if upserts(session):
        stmt = (
            dialect_insert(session, User)
            .values(**values)
            .on_conflict_do_nothing()
            .returning(User)
        )
        return session.exec(stmt).scalars().one_or_none()
    user = User(**values)
    try:
        with session.begin_nested():
            session.add(user)
            session.flush()
    except IntegrityError:
        return None
    return user


def _needed(session: Session | None) -> Session:
    if session is None:
        raise TypeError("check_taken=True needs a session")
    return session


def check_new_user(
    session: Session | None, *, login: str, email: str, password: str, phone: str | None = None,
    check_taken: bool = True,
) -> tuple[dict[str, Code], str | None]:
    """Every problem with a would-be account (keys ``login``, ``email``,
    ``phone``, ``password``) and the normalised phone; writes nothing.
    ``check_taken=False``: only what the input itself shows — nothing about
    other accounts, no database query (``session`` may be None)."""
    errors: dict[str, Code] = {}

    login_problem = validation.login_error(login)
    if login_problem:
        errors["login"] = login_problem
    elif check_taken and _login_taken(_needed(session), login):
        errors["login"] = Code("login_field.taken")

    email_problem = validation.email_error(email)
    if email_problem:
        errors["email"] = email_problem

    normalized_phone: str | None = None
    try:
        normalized_phone = validation.normalize_phone(phone)
    except FieldErrors as exc:
        errors.update(exc.errors)

    password_problem = validation.password_error(password, login if not login_problem else "")
    if password_problem:
        errors["password"] = password_problem
    return errors, normalized_phone


def create_user(
    session: Session,
    *,
    login: str,
    email: str,
    password: str,
    phone: str | None = None,
    confirmed: bool = False,
    settings: Settings | None = None,
) -> User:
    """Validate every field, then insert a user.

    Raises :class:`FieldErrors` with *all* problems at once (keys ``login``,
    ``email``, ``phone``, ``password``), including a taken login — also when
    another request took it between our check and our insert.  The row is
    written but not committed; a :class:`FieldErrors` leaves the caller's
    transaction usable.  ``confirmed=True`` marks the e-mail as confirmed now
    (accounts created by an administrator).
    """
    settings = settings or get_settings()
    errors, normalized_phone = check_new_user(
        session, login=login, email=email, password=password, phone=phone
    )
    if errors:
        raise FieldErrors(errors)

    now = clock.utcnow()
    values = {
        "login": validation.normalize_login(login),
        "login_key": validation.login_key(login),
        "login_skeleton": validation.login_skeleton(login),
        "email": email.strip(),
        "email_key": validation.email_key(email),
        "phone": normalized_phone,
        "password_hash": passwords.hash_password(
            password, secret_key=settings.secret_key, cost=settings.bcrypt_cost
        ),
        "email_confirmed_at": now if confirmed else None,
        "last_login_at": None,
        "created_at": now,
        "updated_at": now,
    }
    user = _insert_user(session, values)
    if user is None:
        raise FieldErrors({"login": Code("login_field.taken")})
    return user


def authenticate(
    session: Session, *, login: str, password: str, settings: Settings | None = None
) -> User:
    """The user whose login and password match, else :class:`AuthenticationFailed`.

    Every failure costs one bcrypt check (a dummy one for an unknown login or
    unusable input) and raises the same error.  On success the hash is
    upgraded when its cost differs from the setting, and ``last_login_at`` is
    set.  Whether the e-mail is confirmed is for the caller to decide.
    """
    settings = settings or get_settings()
    key = _lookup_key(login)
    usable_password = (
        isinstance(password, str) and 0 < len(password) <= passwords.MAX_VERIFY_CHARS
    )
    user = get_user_by_login(session, login) if key is not None and usable_password else None
    if user is None:
        passwords.dummy_verify(password, secret_key=settings.secret_key, cost=settings.bcrypt_cost)
        raise AuthenticationFailed()
    if not passwords.verify_password(password, user.password_hash, secret_key=settings.secret_key):
        raise AuthenticationFailed()

    now = clock.utcnow()
    if passwords.needs_rehash(user.password_hash, settings.bcrypt_cost):
        user.password_hash = passwords.hash_password(
            password, secret_key=settings.secret_key, cost=settings.bcrypt_cost
        )
    record_login(user, now)
    session.add(user)
    session.flush()
    return user


def record_login(user: User, now: datetime) -> None:
    """A login now: the last one becomes the previous one (shown in «Профиль»)."""
    user.previous_login_at = user.last_login_at
    user.last_login_at = now
    user.updated_at = now


def set_password(
    session: Session, user: User, new_password: str, settings: Settings | None = None
) -> None:
    """Validate and store a new password (:class:`FieldErrors` with key ``password``).

    Ending the user's other sessions is the caller's decision
    (``sessions.revoke_user_sessions``).
    """
    settings = settings or get_settings()
    problem = validation.password_error(new_password, user.login)
    if problem:
        raise FieldErrors({"password": problem})
    user.password_hash = passwords.hash_password(
        new_password, secret_key=settings.secret_key, cost=settings.bcrypt_cost
    )
    user.updated_at = clock.utcnow()
    session.add(user)
    session.flush()


__all__ = [
    "authenticate",
    "create_user",
    "get_user",
    "get_user_by_login",
    "set_password",
]
