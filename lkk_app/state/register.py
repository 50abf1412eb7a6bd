"""«Регистрация пользователя» (manual 2.2, figure 2)."""

from __future__ import annotations

import functools

import reflex as rx

from lkk_app import cpu_pools
from lkk_app.auth import registration
from lkk_app.db import session_scope
from lkk_app.i18n import message, messages, t
from lkk_app.jobs.worker import wake_mail_sender
from lkk_app.state.base import audio_address, draw_challenge, read_form, submit_form

FIELDS = ("login", "email", "phone", "password", "password_confirm", "code")


def _register(form: dict[str, str], challenge_id: str, ip: str) -> registration.Outcome:
    """Worker thread: code, form, limits, then the account (``registration.attempt``)."""
    return registration.attempt(session_scope, form=form, challenge_id=challenge_id, ip=ip)


class RegisterState(rx.State):
    errors: dict[str, str] = {}  # field → message
    form_error: str = ""
    captcha_src: str = ""
    captcha_audio: str = ""  # «Прослушать код»: the same challenge, spoken
    submitting: bool = False
    done_email: str = ""
    attempt: int = 0
    _captcha_id: str = ""

    def _set_errors(self, errors: dict[str, str]) -> None:
        self.errors = {name: text for name, text in errors.items() if name in FIELDS}
        self.form_error = t("register.failed") if errors else ""

    async def _refresh(self) -> None:
        self._captcha_id, self.captcha_src, problem = await draw_challenge(self)
        self.captcha_audio = audio_address(self._captcha_id)
        if problem:
            self.errors = {**self.errors, "code": t(problem)}
            return
        if self.errors.get("code") in (t("busy.captcha"), t("captcha.limited")):
            self.errors = {name: text for name, text in self.errors.items() if name != "code"}

    @rx.event
    async def on_load(self):
        self._set_errors({})
        self.done_email = ""
        self.submitting = False
        await self._refresh()

    @rx.event
    async def refresh_captcha(self):
        await self._refresh()
        return rx.set_value("code", "")

    @rx.event
    async def submit(self, form_data: dict):
        form = read_form(form_data, FIELDS, strip=("login", "email", "phone", "code"))
        # bcrypt on its own bounded pool; when full, nothing is spent or stored.
        work = functools.partial(cpu_pools.PASSWORDS.run, _register, form, self._captcha_id,
                                 self.router.session.client_ip)
        async for event in submit_form(self, "submitting", work, self._done, pool_busy="form_error"):
            yield event

    async def _done(self, outcome: registration.Outcome):
        self._captcha_id = ""
        if outcome.email:
            self._set_errors({})
            self.done_email = outcome.email
            self.captcha_src = self.captcha_audio = ""
            wake_mail_sender()
            return None
        self._set_errors(messages(outcome.errors))
        if outcome.refusal:
            self.form_error = message(outcome.refusal)
        await self._refresh()
        first = next((name for name in FIELDS if name in outcome.errors), "code")
        # The code is spent (a new image is drawn); typed passwords stay unless
        # they were the problem — a wrong phone costs no retyping.
        events = [rx.set_value("code", "")]
        if {"password", "password_confirm"} & set(outcome.errors):
            self.attempt += 1  # remounts the strength line, empty again
            events += [rx.set_value("password", ""), rx.set_value("password_confirm", "")]
        return [*events, rx.set_focus(first)]
