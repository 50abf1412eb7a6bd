"""The cabinet's «Профиль» tab: the account (:class:`ProfileState`, which the
page load fills in one go), and one substate per panel with a form: the phone
(:class:`PhonePanel`), the password (:class:`PasswordPanel`), the active
sessions («Сеансы», :class:`SessionsPanel`) and the letters about the contracts
(«Уведомления», :class:`NotificationsPanel`).  «Журнал безопасности» only shows
what the page state holds."""

from __future__ import annotations

import dataclasses
import functools
from datetime import datetime
from typing import Any

import reflex as rx
from sqlmodel import Session

from lkk_app import cpu_pools, routes
from lkk_app.auth import account, security, useragent, users
from lkk_app.auth import login as login_flow
from lkk_app.auth import sessions as session_service
from lkk_app.auth.sessions import CurrentUser
from lkk_app.auth.validation import format_phone
from lkk_app.billing import notifications
from lkk_app.core import clock
from lkk_app.core.errors import FieldErrors
from lkk_app.core.formatting import local_datetime
from lkk_app.i18n import RU, messages, t
from lkk_app.jobs.worker import wake_mail_sender
from lkk_app.state.base import AuthState, SignedOut, read_form, submit_form

PASSWORD_FIELDS = ("current_password", "new_password", "password_confirm")
# Why a session ended (the audit ``detail``), in words; other details are not shown.
_DETAIL_KEYS = {
    session_service.ENDED_BY_LOGOUT: "audit.detail.logout",
    session_service.ENDED_BY_USER: "audit.detail.ended_by_user",
    session_service.ENDED_BY_PASSWORD_CHANGE: "audit.detail.password_change",
    "recovery": "audit.detail.recovery",
    account.ENDED_BY_PASSWORD_GUESSES: "audit.detail.password_guesses",
    login_flow.ENDED_BY_NEW_LOGIN: "audit.detail.new_login",
}


def format_dt(value: datetime | None) -> str:
    return local_datetime(value) if value else t("profile.never")


@dataclasses.dataclass
class SessionItem:
    """One row of «Сеансы»: only what the page shows.  ``id`` is the row id
    (checked on the server against the user); never a token or its hash."""

    id: int = 0
    device: str = ""
    ip: str = ""
    started: str = ""
    last_active: str = ""
    current: bool = False


@dataclasses.dataclass
class JournalItem:
    """One row of «Журнал безопасности»."""

    time: str = ""
    event: str = ""
    detail: str = ""
    ip: str = ""
    result: str = ""
    ok: bool = True


def _event_text(event: str) -> str:
    key = f"audit.{event}"
    return t(key) if key in RU else t("audit.other")


def _session_item(row: security.SessionRecord) -> SessionItem:
    return SessionItem(id=row.id, device=useragent.describe(row.user_agent),
                       ip=row.ip or t("profile.never"), started=format_dt(row.created_at),
                       last_active=format_dt(row.last_seen_at), current=row.current)


def _journal_item(row: security.JournalRecord) -> JournalItem:
    return JournalItem(
        time=format_dt(row.created_at),
        event=_event_text(row.event),
        detail=t(_DETAIL_KEYS[row.detail]) if row.detail in _DETAIL_KEYS else "",
        ip=row.ip or t("profile.never"),
        result=t("audit.result.ok") if row.ok else t("audit.result.refused"),
        ok=row.ok,
    )


def _as_row_id(value: object) -> int | None:
    """A session id from the browser: a positive integer (or its digits), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value <= session_service.MAX_ROW_ID else None
    if isinstance(value, str) and 0 < len(value) <= 10 and value.isascii() and value.isdigit():
        return _as_row_id(int(value))
    return None


# --------------------------------------------------------------------------- work as the user
# Each runs in a worker thread, in one transaction with the resolution of the session.


def _load(db: Session, me: CurrentUser, token: str
          ) -> tuple[CurrentUser, security.SecuritySnapshot, notifications.Preferences]:
    return me, security.snapshot(db, me.id, token), notifications.preferences(db, me.id)


def _save_notifications(db: Session, me: CurrentUser, wanted: notifications.Preferences) -> notifications.Preferences:
    return notifications.save_preferences(db, me.id, wanted, clock.utcnow())


def _snapshot(db: Session, me: CurrentUser, token: str) -> security.SecuritySnapshot:
    return security.snapshot(db, me.id, token)


def _change_phone(db: Session, me: CurrentUser, phone: str) -> str | FieldErrors:
    try:
        return account.change_phone(db, users.signed_in_user(db, me.id), phone) or ""
    except FieldErrors as exc:
        return exc


def _change_password(db: Session, me: CurrentUser, values: dict[str, Any], token: str, ip: str,
                     user_agent: str) -> security.SecuritySnapshot | FieldErrors | account.SessionEnded:
    """The fresh snapshot after a change (other sessions ended).  A failure is
    returned, not raised: it is committed, and must stay counted."""
    try:
        account.change_password(db, users.signed_in_user(db, me.id), keep_session_token=token, ip=ip,
                                user_agent=user_agent, **values)
    except (FieldErrors, account.SessionEnded) as exc:
        return exc
    return security.snapshot(db, me.id, token)


def _end_one(db: Session, me: CurrentUser, row_id: int | None, token: str, ip: str,
             user_agent: str) -> tuple[bool, security.SecuritySnapshot]:
    ended = security.end_other_session(db, me, row_id, ip=ip, user_agent=user_agent)
    return ended, security.snapshot(db, me.id, token)


def _end_others(db: Session, me: CurrentUser, token: str, ip: str,
                user_agent: str) -> tuple[int, security.SecuritySnapshot]:
    ended = security.end_other_sessions(db, me, token, ip=ip, user_agent=user_agent)
    return ended, security.snapshot(db, me.id, token)


# --------------------------------------------------------------------------- states


class ProfileState(AuthState):
    """What the page shows: the account, «Сеансы» and «Журнал безопасности»."""

    loaded: bool = False
    login: str = ""
    email: str = ""
    email_confirmed: bool = False
    phone: str = ""
    phone_value: str = ""
    created: str = ""
    last_login: str = ""
    sessions: list[SessionItem] = []
    other_sessions: int = 0
    journal: list[JournalItem] = []

    def _fill(self, me: CurrentUser) -> None:
        self.login = me.login
        self.email = me.email
        self.email_confirmed = me.email_confirmed_at is not None
        self._set_phone(me.phone)
        self.created = format_dt(me.created_at)
        # «Последний вход»: the one before this session's (this one is now).
        self.last_login = format_dt(me.previous_login_at)
        self.loaded = True

    def _set_phone(self, phone: str) -> None:
        # Stored as E.164 (+74951234567), shown as people write it (+7 495 123-45-67).
        self.phone_value = format_phone(phone)
        self.phone = self.phone_value or t("profile.phone_none")

    def _set_security(self, snapshot: security.SecuritySnapshot) -> None:
        self.sessions = [_session_item(row) for row in snapshot.sessions]
        self.other_sessions = sum(1 for item in self.sessions if not item.current)
        self.journal = [_journal_item(row) for row in snapshot.journal]

    def _clear(self) -> None:
        self.loaded = False
        self.login = self.email = self.phone = self.phone_value = ""
        self.created = self.last_login = ""
        self.email_confirmed = False
        self.sessions = []
        self.journal = []
        self.other_sessions = 0

    @rx.event
    async def on_load(self):
        for panel in (PhonePanel, PasswordPanel, SessionsPanel, NotificationsPanel):
            (await self.get_state(panel)).reset()
        try:
            me, snapshot, wanted = await self._run_as_user(_load, self._session_token())
        except SignedOut as gone:
            return self._signed_out(gone)
        self._set_security(snapshot)
        (await self.get_state(NotificationsPanel))._show(wanted)
        self._fill(me)
        return None


class PhonePanel(ProfileState):
    """«Изменение номера телефона»."""

    phone_error: str = ""
    phone_saved: str = ""
    phone_busy: bool = False

    @rx.event
    async def save_phone(self, form_data: dict):
        phone = read_form(form_data, ("phone",), strip=("phone",))["phone"]
        self.phone_saved = self.phone_error = ""
        work = functools.partial(self._run_as_user, _change_phone, phone)
        async for event in submit_form(self, "phone_busy", work, self._saved):
            yield event

    def _saved(self, result: str | FieldErrors) -> None:
        if isinstance(result, FieldErrors):
            self.phone_error = messages(result).get("phone", "")
            return
        self._set_phone(result)
        self.phone_saved = t("profile.phone_saved")


class PasswordPanel(ProfileState):
    """«Смена пароля» with the current password."""

    errors: dict[str, str] = {}  # field → message
    password_saved: str = ""
    password_busy: bool = False
    # Bumped when the fields are cleared, so the strength line starts empty again.
    password_attempt: int = 0

    @rx.event
    async def change_password(self, form_data: dict):
        values = read_form(form_data, PASSWORD_FIELDS)
        self.errors = {}
        self.password_saved = ""
        # bcrypt on its own bounded pool (lkk_app/cpu_pools.py).
        work = functools.partial(self._run_as_user, _change_password, values, self._session_token(),
                                 *self._client(), pool=cpu_pools.PASSWORDS)
        async for event in submit_form(self, "password_busy", work, self._changed,
                                       pool_busy=self._pool_busy):
            yield event

    def _pool_busy(self, text: str) -> None:
        self.errors = {"current_password": text}

    def _changed(self, result: security.SecuritySnapshot | FieldErrors | account.SessionEnded):
        if isinstance(result, account.SessionEnded):
            # Too many wrong current passwords: this session has ended.
            self._clear()
            wake_mail_sender()
            return rx.redirect(routes.login_url(ended="guesses"))
        clear = [rx.set_value(name, "") for name in PASSWORD_FIELDS]
        self.password_attempt += 1  # remounts the strength line, empty again
        if isinstance(result, FieldErrors):
            self.errors = messages(result)
            return clear
        self.password_saved = t("profile.password_saved")
        self._set_security(result)
        wake_mail_sender()
        return clear


class SessionsPanel(ProfileState):
    """«Сеансы»: end one other session, or all of them after a confirmation."""

    sessions_message: str = ""
    sessions_busy: bool = False
    confirm_end_all: bool = False

    @rx.event
    async def end_session(self, session_id: int):
        """«Завершить» next to another session.  The id is only a row id: the
        server ends it only if it is another live session of this user."""
        self.sessions_message = ""
        self.confirm_end_all = False
        work = functools.partial(self._run_as_user, _end_one, _as_row_id(session_id),
                                 self._session_token(), *self._client())
        async for event in submit_form(self, "sessions_busy", work, self._ended_one):
            yield event

    def _ended_one(self, result: tuple[bool, security.SecuritySnapshot]) -> None:
        ended, snapshot = result
        self._set_security(snapshot)
        self.sessions_message = t("sessions.ended_one" if ended else "sessions.not_found")

    @rx.event
    async def ask_end_all(self):
        """Show the confirmation of «Выйти на всех устройствах» (with a fresh list)."""
        self.sessions_message = ""
        try:
            self._set_security(await self._run_as_user(_snapshot, self._session_token()))
        except SignedOut as gone:
            return self._signed_out(gone)
        self.confirm_end_all = self.other_sessions > 0
        if not self.confirm_end_all:
            self.sessions_message = t("sessions.none_other")
        return None

    @rx.event
    def cancel_end_all(self):
        self.confirm_end_all = False

    @rx.event
    async def end_all_other(self):
        """«Выйти на всех устройствах»: every session but this one ends."""
        self.sessions_message = ""
        work = functools.partial(self._run_as_user, _end_others, self._session_token(),
                                 *self._client())
        async for event in submit_form(self, "sessions_busy", work, self._ended_all):
            yield event

    def _ended_all(self, result: tuple[int, security.SecuritySnapshot]) -> None:
        ended, snapshot = result
        self.confirm_end_all = False
        self._set_security(snapshot)
        self.sessions_message = (t("sessions.ended_all", count=ended) if ended
                                 else t("sessions.none_other"))

    def _clear(self) -> None:
        super()._clear()
        self.confirm_end_all = False


class NotificationsPanel(ProfileState):
    """«Уведомления»: which letters about the contracts this person gets."""

    notify: dict[str, bool] = {}
    notify_saved: str = ""
    notify_busy: bool = False

    def _show(self, wanted: notifications.Preferences) -> None:
        self.notify = {kind: wanted.wants(kind) for kind in notifications.KINDS}

    @rx.event
    async def set_notification(self, kind: str, wanted: bool):
        """A tick changed: the choice is stored at once (and said so)."""
        if kind not in notifications.KINDS or not isinstance(wanted, bool):
            return
        choice = {**{k: self.notify.get(k, True) for k in notifications.KINDS}, kind: wanted}
        self.notify_saved = ""
        work = functools.partial(self._run_as_user, _save_notifications, notifications.Preferences(**choice))
        async for event in submit_form(self, "notify_busy", work, self._notifications_saved):
            yield event

    def _notifications_saved(self, wanted: notifications.Preferences) -> None:
        self._show(wanted)
        self.notify_saved = t("profile.notify_saved")
