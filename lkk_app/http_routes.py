"""HTTP endpoints next to the Reflex app: login, logout, the confirmation link.

They are plain form posts so that the session cookie is set by the server as
``HttpOnly`` and the session token never appears in a websocket frame.  The
websocket reads the cookie from its handshake headers
(``lkk_app.state.auth``).
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from datetime import timedelta

from lkk_app import cpu_pools
from lkk_app.db import session_scope
from lkk_app.auth import audit, ratelimit, recovery, registration
from lkk_app.core import clock, signing, tokens
from lkk_app.mail import devmail, outbox
from lkk_app.auth import devices, throttle
from lkk_app.auth import login as login_service
from lkk_app.auth import sessions as session_service
from lkk_app.auth import users as user_service
from lkk_app.jobs.worker import wake_mail_sender
from lkk_app.i18n import t
from lkk_app.settings import get_settings, is_loopback_host

log = logging.getLogger("lkk.auth")

CABINET_HOME = "/profile"
# Where a login with a temporary password lands (lkk_app/state/change_password.py).
CHANGE_PASSWORD = "/change-password"
MAX_FIELD = 256
# An HttpOnly cookie that says "this browser just gave the right password of an
# account whose e-mail is not confirmed yet"; it allows only «Отправить письмо повторно».
PENDING_COOKIE = "lkk_pending"
PENDING_PURPOSE = "resend-confirmation"
PENDING_TTL = timedelta(minutes=30)


def safe_next(raw: str | None, default: str = CABINET_HOME) -> str:
    """Only a same-site absolute path may be a redirect target."""
    if not raw or len(raw) > 512:
        return default
    if not raw.startswith("/") or raw.startswith("//") or raw.startswith("/\\"):
        return default
    if any(ch in raw for ch in "\r\n\t\\") or ":" in raw.split("?", 1)[0]:
        return default
    if raw == "/" or raw.startswith("/?"):
        return default
    return raw


def client_ip(request: Request) -> str:
    settings = get_settings()
    hops = settings.trusted_proxy_hops
    if hops:
        forwarded = [p.strip() for p in request.headers.get("x-forwarded-for", "").split(",") if p.strip()]
        if len(forwarded) >= hops:
            return forwarded[-hops][:64]
    return (request.client.host if request.client else "")[:64]


def same_origin(request: Request) -> bool:
    """Refuse cross-site form posts (login CSRF, forced logout)."""
    origin = request.headers.get("origin")
    if origin is None:
        referer = request.headers.get("referer", "")
        return referer.startswith(get_settings().public_origin + "/")
    return origin == get_settings().public_origin


def set_session_cookie(response: Response, token: str) -> None:
    settings = get_settings()
    response.set_cookie(
        settings.session_cookie_name,
        token,
        max_age=settings.session_absolute_hours * 3600,
        path="/",
        httponly=True,
        secure=settings.cookie_secure,
        samesite="strict",
    )


def clear_session_cookie(response: Response) -> None:
    settings = get_settings()
    response.delete_cookie(
        settings.session_cookie_name, path="/", httponly=True,
        secure=settings.cookie_secure, samesite="strict",
    )


def _login_redirect(**params: str) -> RedirectResponse:
    query = urlencode({k: v for k, v in params.items() if v})
    return RedirectResponse("/" + (f"?{query}" if query else ""), status_code=303)


def _check_credentials(login: str, password: str, ip: str, user_agent: str,
                       captcha_id: str = "", code: str = "", device_token: str = "",
                       previous_session: str = "") -> tuple[str, str, str]:
    """Runs in a worker thread: bcrypt must not block the event loop.

    The check and its limits are ``auth/login.py``'s.  Returns ("ok",
    session token, device token), ("restricted", session token, device token)
    for a temporary password from a recovery letter, ("unconfirmed", signed
    pending value, ""), or ("invalid" | "wait" | "ip", extra query parameters
    for the login window — ``cap=1`` when the next attempt needs the code,
    ``until=`` Unix seconds of the end of a wait — , "")."""
    outcome = login_service.attempt(
        login=login, password=password, ip=ip, user_agent=user_agent, captcha_id=captcha_id,
        code=code, device_token=device_token, previous_session=previous_session)
    if outcome.kind == login_service.UNCONFIRMED:
        return outcome.kind, signing.sign(outcome.value, purpose=PENDING_PURPOSE, ttl=PENDING_TTL), ""
    if outcome.kind in (login_service.OK, login_service.RESTRICTED):
        return outcome.kind, outcome.value, outcome.device_token
    extra = {"cap": "1"} if outcome.needs_captcha else {}
    if outcome.retry_at is not None:
        extra["until"] = str(throttle.unix_seconds(outcome.retry_at))
    return outcome.kind, urlencode(extra), ""


def set_device_cookie(response: Response, token: str) -> None:
    """The long-lived device cookie (``auth/devices.py``); HttpOnly."""
    _set_private_cookie(response, devices.COOKIE_NAME, token,
                        int(devices.LIFETIME.total_seconds()))


def _set_private_cookie(response: Response, name: str, value: str, max_age: int) -> None:
    settings = get_settings()
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True,
                        secure=settings.cookie_secure, samesite="strict")


async def login(request: Request) -> Response:
    if not same_origin(request):
        return PlainTextResponse("Forbidden", status_code=403)
    form = await request.form(max_files=0, max_fields=10)
    login_value = str(form.get("login", ""))[:MAX_FIELD]
    password = str(form.get("password", ""))[: 10 * 1024]
    next_path = safe_next(str(form.get("next", "")), default="")
    # «Код авторизации», needed after 5 failed logins (the id is not secret).
    captcha_id = str(form.get("captcha_id", ""))[:64]
    code = str(form.get("code", ""))[:64]
    login_value = login_value.strip()
    if not login_value or not password:
        return _login_redirect(e="empty", login=login_value, next=next_path)
    previous = request.cookies.get(get_settings().session_cookie_name, "")[:256]
    try:
        # bcrypt on its own bounded pool (lkk_app/cpu_pools.py); full: «повторите попытку».
        outcome, value, device_token = await cpu_pools.PASSWORDS.run(
            _check_credentials, login_value, password, client_ip(request),
            request.headers.get("user-agent", "")[:512], captcha_id, code,
            request.cookies.get(devices.COOKIE_NAME, "")[:64], previous,
        )
    except cpu_pools.PoolBusy:
        return _login_redirect(e="busy", login=login_value, next=next_path)
    if outcome in ("invalid", "wait", "ip"):
        # One answer for known, unknown, unconfirmed and throttled logins.
        extra = dict(parse_qsl(value))
        return _login_redirect(e=outcome, until=extra.get("until", ""), cap=extra.get("cap", ""),
                               login=login_value, next=next_path)
    if outcome == "unconfirmed":
        response = _login_redirect(e="unconfirmed", login=login_value)
        _set_private_cookie(response, PENDING_COOKIE, value, int(PENDING_TTL.total_seconds()))
        if previous:
            # The session of whoever used this browser before has ended.
            clear_session_cookie(response)
        return response
    target = CHANGE_PASSWORD if outcome == "restricted" else (next_path or CABINET_HOME)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, value)
    set_device_cookie(response, device_token)
    response.delete_cookie(PENDING_COOKIE, path="/")
    return response


def _resend(user_id: int, ip: str = "", user_agent: str = "") -> None:
    """Queue a new confirmation letter unless a limit is reached; either way
    the answer is the same."""
    with session_scope() as db:
        user = user_service.get_user(db, user_id)
        if user is None or user.email_confirmed_at is not None:
            return
        # Per account, and per address (3 letters a day with the registrations').
        rules = ratelimit.resend_confirmation_rules(user.id) + registration.letter_rules(user.email)
        if not ratelimit.allow_all(db, rules):
            log.info("confirmation resend over the limit for user %s", user.id)
            audit.record(db, event=audit.CONFIRMATION_RESENT, result=audit.REFUSED, user_id=user.id,
                         login=user.login, ip=ip, user_agent=user_agent)
            return
        outbox.queue_confirmation(db, user)
        audit.record(db, event=audit.CONFIRMATION_RESENT, user_id=user.id, login=user.login,
                     ip=ip, user_agent=user_agent)


async def resend_confirmation(request: Request) -> Response:
    if not same_origin(request):
        return PlainTextResponse("Forbidden", status_code=403)
    raw = request.cookies.get(PENDING_COOKIE, "")
    user_id = signing.unsign(raw, purpose=PENDING_PURPOSE)
    if user_id is None:
        return _login_redirect(expired="1")
    await asyncio.to_thread(_resend, int(user_id), client_ip(request),
                            request.headers.get("user-agent", "")[:512])
    wake_mail_sender()
    return _login_redirect(resent="1")


def _peek_confirmation(token: str) -> tuple[str, str]:
    """("ok", login) for a valid confirmation token, else ("failed", reason); changes nothing."""
    with session_scope() as db:
        user_id = tokens.token_user(db, token, tokens.CONFIRM_EMAIL)
        user = user_service.get_user(db, user_id) if user_id is not None else None
        if user is None:
            return "failed", tokens.peek_token(db, token, tokens.CONFIRM_EMAIL)
        return "ok", user.login


def _confirm(token: str, ip: str, user_agent: str) -> tuple[str, str]:
    with session_scope() as db:
        user_id = tokens.consume_token(db, token, tokens.CONFIRM_EMAIL)
        if user_id is None:
            return "failed", tokens.peek_token(db, token, tokens.CONFIRM_EMAIL)
        user = user_service.get_user(db, user_id)
        if user is None:
            return "failed", "unknown"
        if user.email_confirmed_at is None:
            user.email_confirmed_at = clock.utcnow()
            user.last_login_at = user.email_confirmed_at
            db.add(user)
            audit.record(db, event=audit.EMAIL_CONFIRMED, user_id=user.id, login=user.login,
                         ip=ip, user_agent=user_agent)
        return "ok", session_service.mint_session(db, user_id=user.id, ip=ip, user_agent=user_agent)


def _one_time_link_headers(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _confirm_page(token: str, login: str) -> str:
    """The page behind the link: what happens, and one button that does it."""
    title = html.escape(t("confirm.page_title"))
    return (
        "<!doctype html><html lang=ru><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        f"<title>{title}</title><link rel=stylesheet href='/lkk.css'></head>"
        "<body><main class=auth-page><section class=card aria-labelledby=card-title>"
        f"<div class=card-head><h1 class=card-title id=card-title>{title}</h1></div>"
        f"<p>{html.escape(t('confirm.page_text', login=login))}</p>"
        f"<form method=post action='/confirm/{html.escape(token, quote=True)}' class=form>"
        f"<button type=submit class='btn btn-green'>{html.escape(t('confirm.page_button'))}</button>"
        "</form>"
        f"<p class=field-hint>{html.escape(t('confirm.page_note'))}</p>"
        f"</section><p class=page-foot>{html.escape(t('app.full_title'))}</p></main></body></html>"
    )


async def confirm_link_page(request: Request) -> Response:
    """GET of the link in the letter: a page with «Войти в личный кабинет».

    Nothing is confirmed and no session opened by the GET: mail scanners and
    link previews fetch links first, and whoever fetched it would otherwise
    be logged in (and the owner would find the link used)."""
    token = request.path_params.get("token", "")[:128]
    outcome, value = await asyncio.to_thread(_peek_confirmation, token)
    if outcome != "ok":
        return _one_time_link_headers(RedirectResponse(f"/confirm-failed?reason={value}", status_code=303))
    return _one_time_link_headers(HTMLResponse(_confirm_page(token, value)))


async def confirm_email(request: Request) -> Response:
    """POST from that page (same origin only): confirm, open a session, go to «Профиль»."""
    if not same_origin(request):
        return PlainTextResponse("Forbidden", status_code=403)
    token = request.path_params.get("token", "")[:128]
    outcome, value = await asyncio.to_thread(
        _confirm, token, client_ip(request), request.headers.get("user-agent", "")[:512])
    if outcome != "ok":
        response = RedirectResponse(f"/confirm-failed?reason={value}", status_code=303)
    else:
        response = RedirectResponse(CABINET_HOME, status_code=303)
        set_session_cookie(response, value)
        response.delete_cookie(PENDING_COOKIE, path="/")
    return _one_time_link_headers(response)


def _revoke(token: str, ip: str = "", user_agent: str = "") -> None:
    with session_scope() as db:
        user_id = session_service.revoke_session(db, token)
        if user_id is not None:
            audit.record(db, event=audit.SESSION_ENDED, user_id=user_id, ip=ip,
                         user_agent=user_agent, detail=session_service.ENDED_BY_LOGOUT)


async def logout(request: Request) -> Response:
    if not same_origin(request):
        return PlainTextResponse("Forbidden", status_code=403)
    token = request.cookies.get(get_settings().session_cookie_name, "")
    if token:
        await asyncio.to_thread(_revoke, token, client_ip(request),
                                request.headers.get("user-agent", "")[:512])
    response = _login_redirect(out="1")
    clear_session_cookie(response)
    return response


_LINK_RE = re.compile(r"https?://[^\s<>\"']+")


def _dev_mail_page() -> str:
    settings = get_settings()
    letters = devmail.list_dev_mail(settings.mail_dir)
    items = []
    for letter in letters:
        body = _LINK_RE.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>',
                            html.escape(letter["text"]))
        items.append(
            "<article><h2>{subject}</h2><p class=meta>{date} · Кому: {to}</p><pre>{body}</pre></article>"
            .format(subject=html.escape(letter["subject"]), date=html.escape(str(letter["date"])),
                    to=html.escape(letter["to"]), body=body))
    empty = "<p>Писем пока нет.</p>" if not items else ""
    return (
        "<!doctype html><html lang=ru><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        "<title>Почтовый ящик разработчика</title><link rel=stylesheet href='/lkk.css'></head>"
        "<body><main class=cabinet-main><h1 class=section-title>Почтовый ящик разработчика</h1>"
        "<p class=notice>Без настроенного SMTP-сервера письма сохраняются в "
        f"<code>{html.escape(str(settings.mail_dir))}</code> и показаны здесь. "
        "В рабочем режиме эта страница отключена.</p>"
        f"{empty}{''.join(items)}</main></body></html>"
    )


_FORWARDED_FOR_RE = re.compile(r"for=\"?\[?([^\]\";,]+)", re.I)


def from_this_computer(request: Request) -> bool:
    """The request came over loopback and no proxy on this computer relayed it
    for someone else (every address in ``X-Forwarded-For``, ``X-Real-IP`` and
    ``Forwarded`` is a loopback one too)."""
    peer = request.client.host if request.client else ""
    if not is_loopback_host(peer) or peer.lower() == "localhost":
        return False
    relayed = [p.strip() for p in request.headers.get("x-forwarded-for", "").split(",")]
    relayed.append(request.headers.get("x-real-ip", "").strip())
    relayed += _FORWARDED_FOR_RE.findall(request.headers.get("forwarded", ""))
    return all(is_loopback_host(addr) and addr.lower() != "localhost" for addr in relayed if addr)


async def dev_mail(request: Request) -> Response:
    if get_settings().is_production:
        return PlainTextResponse("Not Found", status_code=404)
    if not from_this_computer(request):
        # The letters hold confirmation links and temporary passwords.
        log.warning("/dev/mail refused for %.64s", request.client.host if request.client else "?")
        return PlainTextResponse(t("dev_mail.loopback_only"), status_code=403,
                                 headers={"Cache-Control": "no-store"})
    page = await asyncio.to_thread(_dev_mail_page)
    return HTMLResponse(page, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


def build_http_app() -> Starlette:
    dev_routes = [] if get_settings().is_production else [Route("/dev/mail", dev_mail, methods=["GET"])]
    return Starlette(
        routes=[*dev_routes,
            Route("/auth/login", login, methods=["POST"]),
            Route("/auth/logout", logout, methods=["POST"]),
            Route("/auth/resend", resend_confirmation, methods=["POST"]),
            Route("/confirm/{token}", confirm_link_page, methods=["GET"]),
            Route("/confirm/{token}", confirm_email, methods=["POST"]),
        ]
    )
