"""What every HTTP route needs: the client, the same-origin check, the
cookies, the redirect to the login window."""

from __future__ import annotations

import functools
import html
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response

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
    """Refuse cross-site form posts (login CSRF, forced logout): only the
    cabinet's own pages may post (``Settings.page_origins``)."""
    origins = get_settings().page_origins
    origin = request.headers.get("origin")
    if origin is None:
        referer = request.headers.get("referer", "")
        return any(referer.startswith(o + "/") for o in origins)
    return origin in origins


def forbidden() -> Response:
    return PlainTextResponse("Forbidden", status_code=403)


def redirect(path: str) -> RedirectResponse:
    """To a page of the cabinet (on the pages' own site in the split shape)."""
    return RedirectResponse(routes.page_address(path), status_code=303)


# The split shape: the pages' script posts the forms with ``fetch`` (so that the
# cookies set in the answer are kept for the pages' site) and adds this to the
# address; the answer then names the next page instead of redirecting to it.
FETCH_PARAM = "via"
FETCH_VALUE = "fetch"


def posted_by_pages(route: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """A form route whose answer goes through :func:`answer`."""
    @functools.wraps(route)
    async def wrapped(request: Request) -> Response:
        return answer(request, await route(request))
    return wrapped


def answer(request: Request, response: Response) -> Response:
    """``response`` as it is, or — for a post made by the pages' script —
    ``{"location": …}`` with the same cookies (a redirect across sites
    cannot be followed and read by a script)."""
    if request.query_params.get(FETCH_PARAM) != FETCH_VALUE or "location" not in response.headers:
        return response
    converted = JSONResponse({"location": response.headers["location"]},
                             headers={"Cache-Control": "no-store"})
    for name, value in response.raw_headers:
        if name == b"set-cookie":
            converted.raw_headers.append((name, value))
    return converted


def to_login_window(**params: str) -> RedirectResponse:
    return redirect(routes.login_url(**params))


def no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def set_private_cookie(response: Response, name: str, value: str, max_age: int) -> None:
    """An ``HttpOnly`` cookie for the whole site (``Settings.cookie_options``)."""
    _set_cookie(response, name, value, max_age)


def delete_private_cookie(response: Response, name: str) -> None:
    """Take a cookie of :func:`set_private_cookie` away (the same attributes:
    a partitioned cookie is only replaced by a partitioned one)."""
    _set_cookie(response, name, "", 0)


def _set_cookie(response: Response, name: str, value: str, max_age: int) -> None:
    settings = get_settings()
    response.set_cookie(name, value, max_age=max_age, expires=None if max_age else 0,
                        **settings.cookie_options)
    if settings.split_site:
        # Python's cookie module knows the attribute only from 3.14 on.
        key, header = response.raw_headers[-1]  # the one set_cookie just added
        response.raw_headers[-1] = (key, header + b"; Partitioned")


def set_session_cookie(response: Response, token: str) -> None:
    settings = get_settings()
    set_private_cookie(response, settings.session_cookie_name, token,
                       settings.session_absolute_hours * 3600)


def clear_session_cookie(response: Response) -> None:
    delete_private_cookie(response, get_settings().session_cookie_name)


def html_page(title: str, main: str) -> str:
    """A plain page (no script) with the app's stylesheet and the supplier's
    colours; ``main`` is markup."""
    return (
        "<!doctype html><html lang=ru><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><link rel=stylesheet href='{_stylesheet()}'>"
        f"<link rel=icon href='{routes.page_address(routes.versioned(routes.FAVICON))}'>"
        f"<style>{get_settings().supplier_css}</style></head>"
        f"<body>{main}</body></html>"
    )


def _stylesheet() -> str:
    """The app's stylesheet; in the split shape from the pages' site (a server
    run with ``--backend-only`` serves no built files)."""
    return routes.page_address(routes.versioned(routes.STYLESHEET))


def supplier_brand() -> str:
    """The supplier's logo and name above a plain page's card (as on the login window)."""
    from lkk_app.i18n import t

    return ("<div class=supplier-brand>"
            f"<img src='{html.escape(routes.supplier_logo_address())}' alt='' class=supplier-logo width=40 height=40>"
            f"<div class=supplier-text><span class=supplier-name>{html.escape(get_settings().supplier_name)}</span>"
            f"<span class=supplier-app>{html.escape(t('app.full_title'))}</span></div></div>")
