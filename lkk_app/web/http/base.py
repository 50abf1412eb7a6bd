"""What every HTTP route needs: the client, the same-origin check, the
cookies, the redirect to the login window."""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from lkk_app import routes
from lkk_app.settings import get_settings

MAX_USER_AGENT = 512


def client_ip(request: Request) -> str:
    settings = get_settings()
    hops = settings.trusted_proxy_hops
    if hops:
        forwarded = [p.strip() for p in request.headers.get("x-forwarded-for", "").split(",") if p.strip()]
        if len(forwarded) >= hops:
            return forwarded[-hops][:64]
    return (request.client.host if request.client else "")[:64]


def user_agent(request: Request) -> str:
    return request.headers.get("user-agent", "")[:MAX_USER_AGENT]


def same_origin(request: Request) -> bool:
    """Refuse cross-site form posts (login CSRF, forced logout)."""
    origin = request.headers.get("origin")
    if origin is None:
        referer = request.headers.get("referer", "")
        return referer.startswith(get_settings().public_origin + "/")
    return origin == get_settings().public_origin


def forbidden() -> Response:
    return PlainTextResponse("Forbidden", status_code=403)


def redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def to_login_window(**params: str) -> RedirectResponse:
    return redirect(routes.login_url(**params))


def no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def set_private_cookie(response: Response, name: str, value: str, max_age: int) -> None:
    """An ``HttpOnly; SameSite=Strict`` cookie for the whole site."""
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True,
                        secure=get_settings().cookie_secure, samesite="strict")


def set_session_cookie(response: Response, token: str) -> None:
    settings = get_settings()
    set_private_cookie(response, settings.session_cookie_name, token,
                       settings.session_absolute_hours * 3600)


def clear_session_cookie(response: Response) -> None:
    settings = get_settings()
    response.delete_cookie(settings.session_cookie_name, path="/", httponly=True,
                           secure=settings.cookie_secure, samesite="strict")


def html_page(title: str, main: str) -> str:
    """A plain page (no script) with the app's stylesheet; ``main`` is markup."""
    return (
        "<!doctype html><html lang=ru><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><link rel=stylesheet href='{routes.versioned(routes.STYLESHEET)}'></head>"
        f"<body>{main}</body></html>"
    )
