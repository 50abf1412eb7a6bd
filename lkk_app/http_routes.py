"""HTTP endpoints next to the Reflex app: login and logout.

They are plain form posts so that the session cookie is set by the server as
``HttpOnly`` and the session token never appears in a websocket frame.  The
websocket reads the cookie from its handshake headers
(``lkk_app.state.auth``).
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from lkk_app.db import session_scope
from lkk_app.services import sessions as session_service
from lkk_app.services import users as user_service
from lkk_app.services.errors import AuthenticationFailed
from lkk_app.settings import get_settings

log = logging.getLogger("lkk.auth")

CABINET_HOME = "/profile"
MAX_FIELD = 256


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


def _check_credentials(login: str, password: str, ip: str, user_agent: str) -> str | None:
    """Runs in a worker thread: bcrypt must not block the event loop."""
    with session_scope() as db:
        try:
            user = user_service.authenticate(db, login=login, password=password)
        except AuthenticationFailed:
            return None
        return session_service.mint_session(db, user_id=user.id, ip=ip, user_agent=user_agent)


async def login(request: Request) -> Response:
    if not same_origin(request):
        return PlainTextResponse("Forbidden", status_code=403)
    form = await request.form(max_files=0, max_fields=10)
    login_value = str(form.get("login", ""))[:MAX_FIELD]
    password = str(form.get("password", ""))[: 10 * 1024]
    next_path = safe_next(str(form.get("next", "")), default="")
    login_value = login_value.strip()
    if not login_value or not password:
        return _login_redirect(e="empty", login=login_value, next=next_path)
    token = await asyncio.to_thread(
        _check_credentials, login_value, password, client_ip(request),
        request.headers.get("user-agent", "")[:512],
    )
    if token is None:
        return _login_redirect(e="invalid", login=login_value, next=next_path)
    response = RedirectResponse(next_path or CABINET_HOME, status_code=303)
    set_session_cookie(response, token)
    return response


def _revoke(token: str) -> None:
    with session_scope() as db:
        session_service.revoke_session(db, token)


async def logout(request: Request) -> Response:
    if not same_origin(request):
        return PlainTextResponse("Forbidden", status_code=403)
    token = request.cookies.get(get_settings().session_cookie_name, "")
    if token:
        await asyncio.to_thread(_revoke, token)
    response = _login_redirect(out="1")
    clear_session_cookie(response)
    return response


def build_http_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/auth/login", login, methods=["POST"]),
            Route("/auth/logout", logout, methods=["POST"]),
        ]
    )
