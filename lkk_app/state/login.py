"""The login window: messages after a failed form post, and the way back."""

from __future__ import annotations

import reflex as rx

from lkk_app.http_routes import CABINET_HOME, safe_next
from lkk_app.i18n import t
from lkk_app.state.auth import AuthState


class LoginState(AuthState):
    error: str = ""
    login_error: str = ""
    password_error: str = ""
    notice: str = ""
    login_prefill: str = ""
    next_path: str = ""
    unconfirmed: bool = False

    @rx.event
    async def on_load(self):
        params = self.router.url.query_parameters
        self.next_path = safe_next(params.get("next", ""), default="")
        if await self._current_user() is not None:
            return rx.redirect(self.next_path or CABINET_HOME)
        code = params.get("e", "")
        self.login_prefill = params.get("login", "")[:64] if code else ""
        self.error = t("login.failed") if code == "invalid" else ""
        empty = code == "empty"
        self.login_error = t("login.empty_username") if empty and not self.login_prefill else ""
        self.password_error = t("login.empty_password") if empty and self.login_prefill else ""
        self.unconfirmed = code == "unconfirmed"
        if params.get("out"):
            self.notice = t("login.logged_out")
        elif params.get("resent"):
            self.notice = t("login.resent")
        elif params.get("expired"):
            self.notice = t("login.session_ended")
        else:
            self.notice = ""
