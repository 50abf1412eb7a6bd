"""The cabinet's «Профиль» tab: the account, the phone, the password."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import reflex as rx

from lkk_app.db import session_scope
from lkk_app.i18n import t
from lkk_app.mail_worker import wake_mail_sender
from lkk_app.services import account
from lkk_app.services import sessions as session_service
from lkk_app.services import users as user_service
from lkk_app.services.errors import FieldErrors
from lkk_app.state.auth import AuthState

NOT_LOGGED_IN = object()
MAX_INPUT = 1024


def format_dt(value: datetime | None) -> str:
    return value.strftime("%d.%m.%Y %H:%M") + " (UTC)" if value else t("profile.never")


def with_session_user(token: str, action: Callable, *args):
    """Worker thread: resolve the session and run ``action(db, user, *args)`` in
    one transaction; NOT_LOGGED_IN when the session is gone or restricted."""
    with session_scope() as db:
        row = session_service.resolve_session(db, token) if token else None
        if row is None or getattr(row, "must_change_password", False):
            return NOT_LOGGED_IN
        user = user_service.get_user(db, row.user_id)
        if user is None:
            return NOT_LOGGED_IN
        return action(db, user, *args)


class ProfileState(AuthState):
    loaded: bool = False
    login: str = ""
    email: str = ""
    email_confirmed: bool = False
    phone: str = ""
    phone_value: str = ""
    created: str = ""
    last_login: str = ""
    # Phone form
    phone_error: str = ""
    phone_saved: str = ""
    phone_busy: bool = False
    # Password form
    current_password_error: str = ""
    new_password_error: str = ""
    password_confirm_error: str = ""
    password_saved: str = ""
    password_busy: bool = False

    def _fill(self, user: dict) -> None:
        self.login = user["login"]
        self.email = user["email"]
        self.email_confirmed = user["email_confirmed_at"] is not None
        self.phone_value = user["phone"] or ""
        self.phone = self.phone_value or t("profile.phone_none")
        self.created = format_dt(user["created_at"])
        self.last_login = format_dt(user["last_login_at"])
        self.loaded = True

    def _clear(self) -> None:
        self.loaded = False
        self.login = self.email = self.phone = self.phone_value = ""
        self.created = self.last_login = ""
        self.email_confirmed = False

    def _reset_messages(self) -> None:
        self.phone_error = self.phone_saved = ""
        self.current_password_error = self.new_password_error = ""
        self.password_confirm_error = self.password_saved = ""

    @rx.event
    async def on_load(self):
        self._reset_messages()
        self.phone_busy = self.password_busy = False
        user = await self._current_user()
        if user is None:
            self._clear()
            return self._to_login()
        if user.get("must_change_password"):
            return rx.redirect("/change-password")
        self._fill(user)

    @rx.event
    async def save_phone(self, form_data: dict):
        if self.phone_busy:
            return
        phone = str(form_data.get("phone", "") or "")[:MAX_INPUT].strip()
        self.phone_busy = True
        self.phone_saved = self.phone_error = ""
        yield
        try:
            result = await asyncio.to_thread(
                with_session_user, self._session_token(), _change_phone, phone)
        finally:
            self.phone_busy = False
        if result is NOT_LOGGED_IN:
            self._clear()
            yield self._to_login()
            return
        if isinstance(result, dict):
            self.phone_error = result.get("phone", "")
            return
        self.phone_value = result or ""
        self.phone = self.phone_value or t("profile.phone_none")
        self.phone_saved = t("profile.phone_saved")

    @rx.event
    async def change_password(self, form_data: dict):
        if self.password_busy:
            return
        values = {k: str(form_data.get(k, "") or "")[:MAX_INPUT]
                  for k in ("current_password", "new_password", "password_confirm")}
        self.password_busy = True
        self.current_password_error = self.new_password_error = ""
        self.password_confirm_error = self.password_saved = ""
        yield
        token = self._session_token()
        try:
            result = await asyncio.to_thread(
                with_session_user, token, _change_password, values, token)
        finally:
            self.password_busy = False
        if result is NOT_LOGGED_IN:
            self._clear()
            yield self._to_login()
            return
        clear = [rx.set_value(k, "") for k in ("current_password", "new_password", "password_confirm")]
        clear.append(rx.call_script("window.lkkClearStrength && lkkClearStrength()"))
        if isinstance(result, dict):
            self.current_password_error = result.get("current_password", "")
            self.new_password_error = result.get("new_password", "")
            self.password_confirm_error = result.get("password_confirm", "")
            yield clear
            return
        self.password_saved = t("profile.password_saved")
        wake_mail_sender()
        yield clear


def _change_phone(db, user, phone: str):
    try:
        return account.change_phone(db, user, phone)
    except FieldErrors as exc:
        return exc.errors


def _change_password(db, user, values: dict, token: str):
    try:
        return account.change_password(db, user, keep_session_token=token, **values)
    except FieldErrors as exc:
        return exc.errors
