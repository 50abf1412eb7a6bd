"""The login window: messages after a failed form post, the authorization code
after repeated failures, and the way back."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime

import reflex as rx

from lkk_app import routes
from lkk_app.auth import devices, throttle
from lkk_app.auth import login as login_flow
from lkk_app.core import clock
from lkk_app.db import session_scope
from lkk_app.i18n import t
from lkk_app.settings import get_settings
from lkk_app.state.base import AuthState, audio_address, draw_challenge
from lkk_app.web.cookies import cookie_value, login_hint


def _wait_text(seconds: int) -> str:
    minutes, seconds = divmod(max(seconds, 0), 60)
    if minutes:
        return t("login.wait_min_sec", minutes=minutes, seconds=seconds)
    return t("login.wait_sec", seconds=seconds)


def _until_from_query(raw: str, now: datetime) -> datetime | None:
    """``until`` (Unix seconds) from the redirect, if it is a plausible future time."""
    if not raw.isdigit() or len(raw) > 12:
        return None
    moment = datetime.fromtimestamp(int(raw), UTC).replace(tzinfo=None)
    if moment <= now or moment > now + throttle.MAX_DELAY + throttle.BASE_DELAY:
        return None
    return moment


def _throttle_state(login: str, ip: str, device_token: str) -> throttle.ThrottleState:
    """Worker thread: the throttle state of ``login`` tried from this client
    (its IP, its device cookie)."""
    with session_scope() as db:
        return (login_flow.window_state(db, login=login, ip=ip, device_token=device_token)
                if login else throttle.ThrottleState())


class LoginState(AuthState):
    error: str = ""
    errors: dict[str, str] = {}  # field (login, password) → message
    notice: str = ""
    login_prefill: str = ""
    next_path: str = ""
    unconfirmed: bool = False
    # «Код авторизации» after 5 failed logins: the challenge id goes back in a
    # hidden field of the native form (not secret: the answer stays on the server).
    needs_code: bool = False
    captcha_id: str = ""
    captcha_src: str = ""
    captcha_audio: str = ""  # «Прослушать код»: the same challenge, spoken
    captcha_error: str = ""  # too many new codes: no image
    # «Повторите попытку после …»; the time is first given as a remainder
    # computed here, then as the browser's local clock time.
    wait_message: str = ""
    wait_until: int = 0
    wait_left: int = 0  # seconds, for the countdown of /lkk.js
    # LKK_DEMO=1: «Демо-доступ» with the demo account's login and password.
    demo_login: str = ""
    demo_password: str = ""
    # Where the demo's letters are read: /dev/mail (development, this computer),
    # /demo/mail (a demo deployed without SMTP); "" = none.
    demo_mailbox: str = ""
    demo_mailbox_label: str = ""

    @rx.event
    async def on_load(self):
        params = self.router.url.query_parameters
        if get_settings().demo:
            from lkk_app.billing.demo_access import DEMO_LOGIN, DEMO_PASSWORD

            self.demo_login, self.demo_password = DEMO_LOGIN, DEMO_PASSWORD
            settings = get_settings()
            self.demo_mailbox = (routes.server_address(routes.DEMO_MAIL) if settings.demo_mailbox
                                 else "" if settings.is_production else routes.server_address(routes.DEV_MAIL))
            self.demo_mailbox_label = t("demo.mailbox_public" if settings.demo_mailbox else "demo.mailbox")
        self.next_path = routes.safe_next(params.get("next", ""), default="")
        if await self._current_user() is not None:
            return rx.redirect(self.next_path or routes.CABINET_HOME)
        code = params.get("e", "")
        # The login typed in the refused attempt: from its cookie, not the address.
        self.login_prefill = login_hint(self.router.headers.cookie) if code or params.get("resent") else ""
        self.error = {"invalid": t("login.failed"), "ip": t("login.ip_limited"),
                      "busy": t("busy.retry")}.get(code, "")
        empty = code == "empty"
        if not empty:
            self.errors = {}
        else:
            self.errors = ({"password": t("login.empty_password")} if self.login_prefill
                           else {"login": t("login.empty_username")})
        self.unconfirmed = code == "unconfirmed"
        if params.get("out"):
            self.notice = t("login.logged_out")
        elif params.get("resent"):
            self.notice = t({"limited": "login.resend_limited", "confirmed": "login.resend_confirmed"}.get(
                params.get("resent", ""), "login.resent"))
        elif params.get("confirmed"):
            self.notice = t("login.email_confirmed")
        elif params.get("expired"):
            self.notice = t("login.session_ended")
        elif params.get("ended") == "guesses":
            self.notice = t("login.ended_after_guesses")
        else:
            self.notice = ""

        state = await asyncio.to_thread(
            _throttle_state, self.login_prefill, self.router.session.client_ip or "",
            cookie_value(self.router.headers.cookie, devices.COOKIE_NAME))
        self.needs_code = params.get("cap") == "1" or state.needs_captcha
        self.captcha_id = self.captcha_src = self.captcha_audio = self.captcha_error = ""
        if self.needs_code:
            await self._draw_code()
        now = clock.utcnow()
        # The server's own record wins; ``until`` from the address only stands
        # in when there is none (say, a login cut to fit the field).
        retry_at = state.retry_at if state.failures or state.retry_at else _until_from_query(
            params.get("until", ""), now)
        if retry_at is None or retry_at <= now:
            self.wait_message, self.wait_until, self.wait_left = "", 0, 0
            return None
        self.wait_until = throttle.unix_seconds(retry_at)
        # The seconds left, rounded up: the browser's countdown (/lkk.js) never
        # says «можно повторить» before the server agrees (whole seconds of both
        # ends rounded apart could make it up to a second early).
        remaining = self.wait_left = math.ceil((retry_at - now).total_seconds())
        # /lkk.js adds the end of the wait in the user's own clock time (the
        # server does not know the time zone) from ``wait_until``.
        self.wait_message = t("login.throttled_in", wait=_wait_text(remaining))
        return None

    async def _draw_code(self) -> None:
        self.captcha_id, self.captcha_src, problem = await draw_challenge(self)
        self.captcha_audio = audio_address(self.captcha_id)
        if problem == "busy.captcha":
            self.error = t(problem)
            return
        if self.error == t("busy.captcha"):
            self.error = ""
        self.captcha_error = t(problem) if problem else ""

    @rx.event
    async def refresh_captcha(self):
        if not self.needs_code:
            return None
        await self._draw_code()
        return rx.set_value("code", "")
