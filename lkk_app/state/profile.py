"""The cabinet's «Профиль» tab: the account, the phone, the password, the
active sessions («Сеансы») and the security journal («Журнал безопасности»)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from datetime import datetime

import reflex as rx

from lkk_app import cpu_pools
from lkk_app.db import session_scope
from lkk_app.i18n import RU, t
from lkk_app.mail_worker import wake_mail_sender
from lkk_app.auth import account, audit, useragent
from lkk_app.auth import login as login_service
from lkk_app.auth import sessions as session_service
from lkk_app.auth import users as user_service
from lkk_app.core.errors import FieldErrors
from lkk_app.core.formatting import local_datetime
from lkk_app.core.text import MAX_INPUT
from lkk_app.state.auth import AuthState

NOT_LOGGED_IN = object()
# «Журнал безопасности» shows this many of the user's latest events.
JOURNAL_SIZE = 20
# Why a session ended (the audit ``detail``), in words; other details are not shown.
_DETAIL_KEYS = {
    session_service.ENDED_BY_LOGOUT: "audit.detail.logout",
    session_service.ENDED_BY_USER: "audit.detail.ended_by_user",
    session_service.ENDED_BY_PASSWORD_CHANGE: "audit.detail.password_change",
    "recovery": "audit.detail.recovery",
    account.ENDED_BY_PASSWORD_GUESSES: "audit.detail.password_guesses",
    login_service.ENDED_BY_NEW_LOGIN: "audit.detail.new_login",
}
# What _change_password returns when too many wrong current passwords ended the session.
ENDED_AFTER_GUESSES = "ended-after-guesses"


def format_dt(value: datetime | None) -> str:
    return local_datetime(value) if value else t("profile.never")


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


def _security_snapshot(db, user, token: str) -> dict:
    """The user's active sessions (this one first) and latest audit events."""
    current = session_service.hash_token(token) if token else ""
    rows = session_service.list_active_sessions(db, user.id)
    rows.sort(key=lambda row: row.token_hash != current)  # stable: this one first
    items = [
        SessionItem(
            id=int(row.id),
            device=useragent.describe(row.user_agent),
            ip=row.ip or t("profile.never"),
            started=format_dt(row.created_at),
            last_active=format_dt(row.last_seen_at),
            current=row.token_hash == current,
        )
        for row in rows
    ]
    journal = [
        JournalItem(
            time=format_dt(event.created_at),
            event=_event_text(event.event),
            detail=t(_DETAIL_KEYS[event.detail]) if event.detail in _DETAIL_KEYS else "",
            ip=event.ip or t("profile.never"),
            result=t("audit.result.ok") if event.result == audit.OK else t("audit.result.refused"),
            ok=event.result == audit.OK,
        )
        for event in audit.recent_for_user(db, user.id, limit=JOURNAL_SIZE)
    ]
    return {"sessions": items, "journal": journal}


def _as_row_id(value: object) -> int | None:
    """A session id from the browser: a positive integer (or its digits), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value <= session_service.MAX_ROW_ID else None
    if isinstance(value, str) and 0 < len(value) <= 10 and value.isascii() and value.isdigit():
        return _as_row_id(int(value))
    return None


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
    password_attempt: int = 0
    # «Сеансы» and «Журнал безопасности»
    sessions: list[SessionItem] = []
    other_sessions: int = 0
    journal: list[JournalItem] = []
    sessions_message: str = ""
    sessions_busy: bool = False
    confirm_end_all: bool = False

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
        self.sessions = []
        self.journal = []
        self.other_sessions = 0
        self.confirm_end_all = False

    def _set_security(self, snapshot: dict) -> None:
        self.sessions = snapshot["sessions"]
        self.other_sessions = sum(1 for item in self.sessions if not item.current)
        self.journal = snapshot["journal"]
        if not self.other_sessions:
            self.confirm_end_all = False

    def _client(self) -> tuple[str, str]:
        """The client's IP and user agent, for the audit trail."""
        return (self.router.session.client_ip or "",
                (self.router.headers.user_agent or "")[:session_service.USER_AGENT_MAX])

    async def _as_user(self, action: Callable, *args):
        """``action(db, user, *args)`` in a worker thread for this tab's session
        (NOT_LOGGED_IN when it is gone)."""
        return await asyncio.to_thread(with_session_user, self._session_token(), action, *args)

    def _logged_out(self) -> rx.event.EventSpec:
        self._clear()
        return self._to_login()

    async def _load_security(self) -> bool:
        """Refresh «Сеансы» and the journal; False when the session is gone."""
        result = await self._as_user(_security_snapshot, self._session_token())
        if result is NOT_LOGGED_IN:
            return False
        self._set_security(result)
        return True

    def _reset_messages(self) -> None:
        self.phone_error = self.phone_saved = ""
        self.current_password_error = self.new_password_error = ""
        self.password_confirm_error = self.password_saved = ""
        self.sessions_message = ""

    @rx.event
    async def on_load(self):
        self._reset_messages()
        self.phone_busy = self.password_busy = self.sessions_busy = False
        self.confirm_end_all = False
        user = await self._current_user()
        if user is None:
            return self._logged_out()
        if user.get("must_change_password"):
            return rx.redirect("/change-password")
        if not await self._load_security():
            return self._logged_out()
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
            result = await self._as_user(_change_phone, phone)
        finally:
            self.phone_busy = False
        if result is NOT_LOGGED_IN:
            yield self._logged_out()
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
            # bcrypt on its own bounded pool (lkk_app/cpu_pools.py).
            result = await cpu_pools.PASSWORDS.run(
                with_session_user, token, _change_password, values, token, *self._client())
        except cpu_pools.PoolBusy:
            self.current_password_error = t("busy.retry")
            return
        finally:
            self.password_busy = False
        if result is NOT_LOGGED_IN:
            yield self._logged_out()
            return
        if result == ENDED_AFTER_GUESSES:
            self._clear()
            wake_mail_sender()
            yield rx.redirect("/?ended=guesses")
            return
        clear = [rx.set_value(k, "") for k in ("current_password", "new_password", "password_confirm")]
        self.password_attempt += 1  # remounts the strength line, empty again
        if isinstance(result, dict):
            self.current_password_error = result.get("current_password", "")
            self.new_password_error = result.get("new_password", "")
            self.password_confirm_error = result.get("password_confirm", "")
            yield clear
            return
        self.password_saved = t("profile.password_saved")
        wake_mail_sender()
        yield clear
        await self._load_security()

    # ------------------------------------------------------------------ «Сеансы»

    @rx.event
    async def end_session(self, session_id: int):
        """«Завершить» next to another session.  The id is only a row id: the
        server ends it only if it is another live session of this user."""
        if self.sessions_busy:
            return
        row_id = _as_row_id(session_id)
        self.sessions_busy = True
        self.sessions_message = ""
        self.confirm_end_all = False
        yield
        token = self._session_token()
        try:
            result = await self._as_user(_end_one, row_id, token, *self._client())
        finally:
            self.sessions_busy = False
        if result is NOT_LOGGED_IN:
            yield self._logged_out()
            return
        ended, snapshot = result
        self._set_security(snapshot)
        self.sessions_message = t("sessions.ended_one" if ended else "sessions.not_found")

    @rx.event
    async def ask_end_all(self):
        """Show the confirmation of «Выйти на всех устройствах» (with a fresh list)."""
        self.sessions_message = ""
        if not await self._load_security():
            return self._logged_out()
        self.confirm_end_all = self.other_sessions > 0
        if not self.confirm_end_all:
            self.sessions_message = t("sessions.none_other")

    @rx.event
    def cancel_end_all(self):
        self.confirm_end_all = False

    @rx.event
    async def end_all_other(self):
        """«Выйти на всех устройствах»: every session but this one ends."""
        if self.sessions_busy:
            return
        self.sessions_busy = True
        self.sessions_message = ""
        yield
        token = self._session_token()
        try:
            result = await self._as_user(_end_others, token, *self._client())
        finally:
            self.sessions_busy = False
            self.confirm_end_all = False
        if result is NOT_LOGGED_IN:
            yield self._logged_out()
            return
        ended, snapshot = result
        self._set_security(snapshot)
        self.sessions_message = (t("sessions.ended_all", count=ended) if ended
                                 else t("sessions.none_other"))


def _change_phone(db, user, phone: str):
    try:
        return account.change_phone(db, user, phone)
    except FieldErrors as exc:
        return exc.errors


def _change_password(db, user, values: dict, token: str, ip: str, user_agent: str):
    # Both outcomes are committed: a failure must stay counted.
    try:
        return account.change_password(db, user, keep_session_token=token, ip=ip,
                                       user_agent=user_agent, **values)
    except FieldErrors as exc:
        return exc.errors
    except account.SessionEnded:
        return ENDED_AFTER_GUESSES


def _end_one(db, user, row_id: int | None, token: str, ip: str, user_agent: str):
    """End one *other* session of ``user``; (ended?, fresh snapshot)."""
    current = session_service.resolve_session(db, token, touch=False)
    ended = False
    if row_id is not None and current is not None and current.id != row_id:
        ended = session_service.revoke_session_by_id(db, user_id=user.id, session_id=row_id)
        if ended:
            audit.record(db, event=audit.SESSION_ENDED, user_id=user.id, login=user.login,
                         ip=ip, user_agent=user_agent, detail=session_service.ENDED_BY_USER)
    return ended, _security_snapshot(db, user, token)


def _end_others(db, user, token: str, ip: str, user_agent: str):
    """End every session of ``user`` except this one; (how many, fresh snapshot)."""
    ended = session_service.revoke_user_sessions(db, user.id, except_token=token)
    if ended:
        audit.record(db, event=audit.SESSION_ENDED, user_id=user.id, login=user.login,
                     ip=ip, user_agent=user_agent, detail=session_service.ENDED_BY_USER)
    return ended, _security_snapshot(db, user, token)
