"""The login window's form posts: log in, log out, «Отправить письмо повторно».

Plain form posts, so that the session cookie is set by the server as
``HttpOnly`` and the session token never appears in a websocket frame; the
websocket reads the cookie from its handshake (``lkk_app/state/base.py``).
"""

from __future__ import annotations

import functools

from starlette.requests import Request
from starlette.responses import Response

from lkk_app import cpu_pools, routes
from lkk_app.auth import confirmation, devices, security, throttle
from lkk_app.auth import login as login_flow
from lkk_app.auth.login import LoginResult
from lkk_app.db import in_transaction
from lkk_app.jobs.worker import wake_mail_sender
from lkk_app.settings import get_settings
from lkk_app.web.cookies import LOGIN_HINT, LOGIN_HINT_SECONDS, encode_login_hint
from lkk_app.web.http.base import (
    clear_session_cookie,
    client_ip,
    delete_private_cookie,
    forbidden,
    posted_by_pages,
    redirect,
    same_origin,
    set_private_cookie,
    set_session_cookie,
    to_login_window,
    user_agent,
)

MAX_FIELD = 256
MAX_PASSWORD = 10 * 1024

# What the login window says after a refusal (``state/login.py`` reads ``e=``).
_REFUSALS = {LoginResult.INVALID: "invalid", LoginResult.WAIT: "wait", LoginResult.IP_LIMIT: "ip"}


def with_login_hint(response: Response, login: str) -> Response:
    """The login window again, showing the login just typed (a cookie, not the
    address); none typed: an older hint must not come back."""
    if login:
        set_private_cookie(response, LOGIN_HINT, encode_login_hint(login), LOGIN_HINT_SECONDS)
    else:
        delete_private_cookie(response, LOGIN_HINT)
    return response


def set_device_cookie(response: Response, token: str) -> None:
    """The long-lived device cookie (``auth/devices.py``)."""
    set_private_cookie(response, devices.COOKIE_NAME, token, int(devices.LIFETIME.total_seconds()))


@posted_by_pages
async def login(request: Request) -> Response:
    if not same_origin(request):
        return forbidden()
    form = await request.form(max_files=0, max_fields=10)
    login_value = str(form.get("login", ""))[:MAX_FIELD].strip()
    password = str(form.get("password", ""))[:MAX_PASSWORD]
    next_path = routes.safe_next(str(form.get("next", "")), default="")
    if not login_value or not password:
        return with_login_hint(to_login_window(e="empty", next=next_path), login_value)
    previous = request.cookies.get(get_settings().session_cookie_name, "")[:256]
    attempt = functools.partial(
        login_flow.log_in, login=login_value, password=password, ip=client_ip(request),
        user_agent=user_agent(request),
        # «Код авторизации», needed after 5 failed logins (the id is not secret).
        captcha_id=str(form.get("captcha_id", ""))[:64], code=str(form.get("code", ""))[:64],
        device_token=request.cookies.get(devices.COOKIE_NAME, "")[:64], previous_session=previous)
    try:
        # bcrypt on its own bounded pool (lkk_app/cpu_pools.py); full: «повторите попытку».
        outcome = await cpu_pools.PASSWORDS.run(attempt)
    except cpu_pools.PoolBusy:
        return with_login_hint(to_login_window(e="busy", next=next_path), login_value)
    if outcome.result in _REFUSALS:
        # One answer for known, unknown, unconfirmed and throttled logins.
        until = str(throttle.unix_seconds(outcome.retry_at)) if outcome.retry_at else ""
        return with_login_hint(to_login_window(e=_REFUSALS[outcome.result], until=until,
                                               cap="1" if outcome.needs_captcha else "",
                                               next=next_path), login_value)
    if outcome.result is LoginResult.UNCONFIRMED:
        response = with_login_hint(to_login_window(e="unconfirmed"), login_value)
        set_private_cookie(response, confirmation.TICKET_COOKIE, outcome.resend_ticket,
                           int(confirmation.TICKET_TTL.total_seconds()))
        if previous:
            # The session of whoever used this browser before has ended.
            clear_session_cookie(response)
        return response
    restricted = outcome.result is LoginResult.RESTRICTED
    response = redirect(routes.CHANGE_PASSWORD if restricted else (next_path or routes.CABINET_HOME))
    set_session_cookie(response, outcome.session_token)
    set_device_cookie(response, outcome.device_token)
    delete_private_cookie(response, confirmation.TICKET_COOKIE)
    delete_private_cookie(response, LOGIN_HINT)
    return response


@posted_by_pages
async def resend_confirmation(request: Request) -> Response:
    if not same_origin(request):
        return forbidden()
    user_id = confirmation.ticket_user(request.cookies.get(confirmation.TICKET_COOKIE, ""))
    if user_id is None:
        return to_login_window(expired="1")
    ip, agent = client_ip(request), user_agent(request)
    result = await in_transaction(lambda db: confirmation.resend(db, user_id, ip=ip, user_agent=agent))
    wake_mail_sender()
    return to_login_window(resent=result)


@posted_by_pages
async def logout(request: Request) -> Response:
    if not same_origin(request):
        return forbidden()
    token = request.cookies.get(get_settings().session_cookie_name, "")
    if token:
        ip, agent = client_ip(request), user_agent(request)
        await in_transaction(lambda db: security.log_out(db, token, ip=ip, user_agent=agent))
    response = to_login_window(out="1")
    clear_session_cookie(response)
    return response
