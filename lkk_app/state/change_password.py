"""«Смена пароля» after a login with a temporary password.

The only page a *restricted* session may use.  A normal session is sent to
«Профиль» (its own password form asks for the current password); no session
at all, to the login window.
"""

from __future__ import annotations

import functools

import reflex as rx
from sqlmodel import Session

from lkk_app import cpu_pools, routes
from lkk_app.auth import recovery, users
from lkk_app.auth.sessions import CurrentUser
from lkk_app.core.errors import FieldErrors
from lkk_app.i18n import messages, t
from lkk_app.jobs.worker import wake_mail_sender
from lkk_app.state.base import AuthState, SignedOut, read_form, submit_form

FIELDS = ("password", "password_confirm")


def _set_own_password(db: Session, me: CurrentUser, password: str, password_confirm: str,
                      token: str) -> bool | FieldErrors:
    """True when the password is set; False for a session that is not
    restricted (its own form, with the current password, is in «Профиль»)."""
    if not me.must_change_password:
        return False
    try:
        recovery.complete_reset(db, user=users.signed_in_user(db, me.id), new_password=password,
                                password_confirm=password_confirm, session_token=token)
    except FieldErrors as exc:
        return exc
    return True


class ChangePasswordState(AuthState):
    loaded: bool = False
    login: str = ""
    errors: dict[str, str] = {}  # field → message
    form_error: str = ""
    submitting: bool = False
    # Bumped when the fields are cleared, so the strength line starts empty again.
    attempt: int = 0

    def _set_errors(self, errors: dict[str, str]) -> None:
        self.errors = {name: text for name, text in errors.items() if name in FIELDS}
        self.form_error = t("change.failed") if errors else ""

    def _clear(self) -> None:
        self.loaded = False
        self.login = ""
        self._set_errors({})

    @rx.event
    async def on_load(self):
        self.submitting = False
        self._set_errors({})
        try:
            me = await self._run_as_user(lambda _db, me: me, allow_restricted=True)
        except SignedOut as gone:
            return self._signed_out(gone)
        if not me.must_change_password:
            self._clear()
            return rx.redirect(routes.CABINET_HOME)
        self.login = me.login
        self.loaded = True

    @rx.event
    async def submit(self, form_data: dict):
        values = read_form(form_data, FIELDS)
        # bcrypt on its own bounded pool (lkk_app/cpu_pools.py).
        work = functools.partial(self._run_as_user, _set_own_password, values["password"],
                                 values["password_confirm"], self._session_token(),
                                 allow_restricted=True, pool=cpu_pools.PASSWORDS)
        async for event in submit_form(self, "submitting", work, self._done, pool_busy="form_error"):
            yield event

    def _done(self, result: bool | FieldErrors):
        clear = [rx.set_value(name, "") for name in FIELDS]
        if result is False:
            self._clear()
            return rx.redirect(routes.CABINET_HOME)
        if isinstance(result, FieldErrors):
            self._set_errors(messages(result))
            self.attempt += 1
            first = next(name for name in FIELDS if name in result.errors)
            return [*clear, rx.set_focus(first)]
        self._clear()
        wake_mail_sender()
        return [*clear, rx.redirect(routes.CABINET_HOME)]
