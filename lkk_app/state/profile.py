"""The cabinet's «Профиль» tab."""

from __future__ import annotations

from datetime import datetime

import reflex as rx

from lkk_app.i18n import t
from lkk_app.state.auth import AuthState


def format_dt(value: datetime | None) -> str:
    return value.strftime("%d.%m.%Y %H:%M") + " (UTC)" if value else t("profile.never")


class ProfileState(AuthState):
    loaded: bool = False
    login: str = ""
    email: str = ""
    email_confirmed: bool = False
    phone: str = ""
    created: str = ""
    last_login: str = ""

    def _fill(self, user: dict) -> None:
        self.login = user["login"]
        self.email = user["email"]
        self.email_confirmed = user["email_confirmed_at"] is not None
        self.phone = user["phone"] or t("profile.phone_none")
        self.created = format_dt(user["created_at"])
        self.last_login = format_dt(user["last_login_at"])
        self.loaded = True

    def _clear(self) -> None:
        self.loaded = False
        self.login = self.email = self.phone = self.created = self.last_login = ""
        self.email_confirmed = False

    @rx.event
    async def on_load(self):
        user = await self._current_user()
        if user is None:
            self._clear()
            return self._to_login()
        self._fill(user)
