"""«Смена пароля» after a login with a temporary password.

The only page a *restricted* session may use.  A normal session is sent to
«Профиль» (its own password form asks for the current password); no session
at all, to the login window.
"""

from __future__ import annotations

import reflex as rx

from lkk_app import cpu_pools
from lkk_app.db import session_scope
from lkk_app.http_routes import CABINET_HOME
from lkk_app.i18n import t
from lkk_app.mail_worker import wake_mail_sender
from lkk_app.auth import recovery
from lkk_app.auth import sessions as session_service
from lkk_app.auth import users as user_service
from lkk_app.core.errors import FieldErrors
from lkk_app.core.text import MAX_INPUT
from lkk_app.state.auth import AuthState

FIELDS = ("password", "password_confirm")

# Outcomes of _complete besides a dict of field errors.
DONE = "done"
NO_SESSION = "no-session"
NOT_RESTRICTED = "not-restricted"


def _complete(token: str, password: str, password_confirm: str) -> str | dict[str, str]:
    """Worker thread: resolve the session again (any client can call any
    handler), then set the password in one transaction."""
    with session_scope() as db:
        row = session_service.resolve_session(db, token) if token else None
        if row is None:
            return NO_SESSION
        if not row.must_change_password:
            return NOT_RESTRICTED
        user = user_service.get_user(db, row.user_id)
        if user is None:
            return NO_SESSION
        try:
            recovery.complete_reset(db, user=user, new_password=password,
                                    password_confirm=password_confirm, session_token=token)
        except FieldErrors as exc:
            return dict(exc.errors)
        return DONE


class ChangePasswordState(AuthState):
    loaded: bool = False
    login: str = ""
    err_password: str = ""
    err_password_confirm: str = ""
    form_error: str = ""
    submitting: bool = False
    # Bumped when the fields are cleared, so the strength line starts empty again.
    attempt: int = 0

    def _set_errors(self, errors: dict[str, str]) -> None:
        self.err_password = errors.get("password", "")
        self.err_password_confirm = errors.get("password_confirm", "")
        self.form_error = t("change.failed") if errors else ""

    def _clear(self) -> None:
        self.loaded = False
        self.login = ""
        self._set_errors({})

    @rx.event
    async def on_load(self):
        self.submitting = False
        self._set_errors({})
        user = await self._current_user(allow_restricted=True)
        if user is None:
            self._clear()
            return self._to_login()
        if not user["must_change_password"]:
            self._clear()
            return rx.redirect(CABINET_HOME)
        self.login = user["login"]
        self.loaded = True

    @rx.event
    async def submit(self, form_data: dict):
        if self.submitting:
            return
        values = {name: str(form_data.get(name, "") or "")[:MAX_INPUT] for name in FIELDS}
        self.submitting = True
        yield
        try:
            # bcrypt on its own bounded pool (lkk_app/cpu_pools.py).
            result = await cpu_pools.PASSWORDS.run(
                _complete, self._session_token(), values["password"], values["password_confirm"])
        except cpu_pools.PoolBusy:
            self.form_error = t("busy.retry")
            return
        finally:
            self.submitting = False
        if result == NO_SESSION:
            self._clear()
            self._restricted_session = False
            yield self._to_login()
            return
        if result == NOT_RESTRICTED:
            self._clear()
            yield rx.redirect(CABINET_HOME)
            return
        clear = [rx.set_value(name, "") for name in FIELDS]
        if isinstance(result, dict):
            self._set_errors(result)
            self.attempt += 1
            first = next(name for name in FIELDS if name in result)
            yield [*clear, rx.set_focus(first)]
            return
        self._clear()
        wake_mail_sender()
        yield [*clear, rx.redirect(CABINET_HOME)]
