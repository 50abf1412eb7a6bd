"""«Забыли пароль?» (manual 2.4, figure 4): login + e-mail → one neutral answer."""

from __future__ import annotations

import asyncio
import time

import reflex as rx

from lkk_app.auth import recovery, validation
from lkk_app.db import session_scope
from lkk_app.i18n import message, t
from lkk_app.jobs.worker import wake_mail_sender
from lkk_app.state.base import read_form, submit_form

FIELDS = ("login", "email")


def _request(login: str, email: str, ip: str, user_agent: str) -> None:
    """Worker thread: whatever happens inside, the page says the same."""
    with session_scope() as db:
        recovery.request_reset(db, login=login, email=email, ip=ip, user_agent=user_agent)


class ForgotState(rx.State):
    errors: dict[str, str] = {}  # field → message
    submitting: bool = False
    done: bool = False

    @rx.event
    def on_load(self):
        self.errors = {}
        self.submitting = False
        self.done = False

    @rx.event
    async def submit(self, form_data: dict):
        if self.done:
            return
        form = read_form(form_data, FIELDS, strip=FIELDS)
        # Only the form of the input is checked here — never whether it matches.
        errors = {}
        if not form["login"]:
            errors["login"] = t("login_field.empty")
        email_problem = validation.email_error(form["email"])
        if email_problem:
            errors["email"] = message(email_problem)
        self.errors = errors
        if errors:
            yield rx.set_focus(next(name for name in FIELDS if name in errors))
            return

        async def work() -> None:
            started = time.monotonic()
            await asyncio.to_thread(_request, form["login"], form["email"],
                                    self.router.session.client_ip, self.router.headers.user_agent)
            # The same answer time whether the pair matched or not (no thread
            # is held while waiting).
            await asyncio.sleep(recovery.pad_to_floor(time.monotonic() - started))

        async for event in submit_form(self, "submitting", work, self._done):
            yield event

    def _done(self, _result: None) -> None:
        self.done = True
        wake_mail_sender()
