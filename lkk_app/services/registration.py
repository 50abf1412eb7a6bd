"""Registration (manual 2.2): a new unconfirmed account and its confirmation letter,
written in one transaction."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from lkk_app.i18n import t
from lkk_app.models import User
from lkk_app.services import outbox, tokens, users, validation
from lkk_app.services.errors import FieldErrors
from lkk_app.settings import Settings, get_settings

CONFIRM_TTL = timedelta(hours=24)


def register(
    session: Session,
    *,
    login: str,
    email: str,
    phone: str | None,
    password: str,
    password_confirm: str,
    captcha_ok: bool,
    settings: Settings | None = None,
) -> User:
    """Create the account and queue the confirmation letter, or raise
    :class:`FieldErrors` with a message for every bad field (``login``,
    ``email``, ``phone``, ``password``, ``password_confirm``, ``code``).

    The captcha is checked (and spent) by the caller in its own transaction,
    so that a failed registration still uses the challenge up.
    """
    errors, _ = users.check_new_user(session, login=login, email=email, password=password,
                                     phone=phone)
    confirm_problem = validation.confirmation_error(password, password_confirm)
    if confirm_problem:
        errors["password_confirm"] = confirm_problem
    if not captcha_ok:
        errors["code"] = t("captcha.wrong")
    if errors:
        raise FieldErrors(errors)
    user = users.create_user(session, login=login, email=email, password=password, phone=phone,
                             settings=settings or get_settings())
    queue_confirmation(session, user)
    return user


def queue_confirmation(session: Session, user: User) -> None:
    """Queue a confirmation letter; its link is minted when it is sent, and a
    new link invalidates the previous one."""
    outbox.enqueue(
        session,
        kind="confirm_email",
        template="confirm_email",
        recipient=user.email,
        params={"login": user.login},
        user_id=user.id,
        secret_purpose=tokens.CONFIRM_EMAIL,
        expires_in=CONFIRM_TTL,
    )
