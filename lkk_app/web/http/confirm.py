"""The link of the confirmation letter: GET shows a page with one button,
«Войти в личный кабинет»; that button's POST confirms and opens a session.

Nothing is confirmed and no session opened by the GET: mail scanners and link
previews fetch links first, and whoever fetched it would otherwise be logged
in (and the owner would find the link used).
"""

from __future__ import annotations

import asyncio
import html

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from lkk_app import routes
from lkk_app.auth import confirmation
from lkk_app.db import session_scope
from lkk_app.i18n import t
from lkk_app.settings import get_settings
from lkk_app.web.http.base import (
    client_ip,
    delete_private_cookie,
    forbidden,
    html_page,
    no_store,
    redirect,
    same_origin,
    set_session_cookie,
    supplier_brand,
    user_agent,
)

MAX_TOKEN = 128


def _page(token: str, login: str) -> str:
    title = html.escape(t("confirm.page_title"))
    split = get_settings().split_site
    text = t("confirm.page_text_split" if split else "confirm.page_text", login=login)
    button = t("confirm.page_button_split" if split else "confirm.page_button")
    action = html.escape(routes.confirm_link(token), quote=True)
    return html_page(t("confirm.page_title"), (
        f"<main class=auth-page>{supplier_brand()}<section class=card aria-labelledby=card-title>"
        f"<div class=card-head><h1 class=card-title id=card-title>{title}</h1></div>"
        f"<p>{html.escape(text)}</p>"
        f"<form method=post action='{action}' class=form>"
        f"<button type=submit class='btn btn-green'>{html.escape(button)}</button>"
        "</form>"
        f"<p class=field-hint>{html.escape(t('confirm.page_note'))}</p>"
        f"</section><p class=page-foot>{html.escape(t('app.full_title'))}</p></main>"
    ))


def _check(token: str) -> confirmation.LinkCheck:
    with session_scope() as db:
        return confirmation.check_link(db, token)


def _confirm(token: str, ip: str, agent: str, open_session: bool) -> confirmation.Confirmation:
    with session_scope() as db:
        return confirmation.confirm(db, token, ip=ip, user_agent=agent, open_session=open_session)


async def link_page(request: Request) -> Response:
    token = request.path_params.get("token", "")[:MAX_TOKEN]
    check = await asyncio.to_thread(_check, token)
    if check.failure:
        return no_store(redirect(routes.confirm_failed(check.failure)))
    return no_store(HTMLResponse(_page(token, check.login)))


async def confirm_email(request: Request) -> Response:
    """POST from that page (same origin only): confirm, open a session, go to «Профиль»."""
    if not same_origin(request):
        return forbidden()
    token = request.path_params.get("token", "")[:MAX_TOKEN]
    split = get_settings().split_site
    outcome = await asyncio.to_thread(_confirm, token, client_ip(request), user_agent(request), not split)
    if outcome.failure:
        return no_store(redirect(routes.confirm_failed(outcome.failure)))
    if split:
        # A cookie set on this page would belong to the server's own site, not
        # to the pages' one: the person logs in on the pages instead.
        response = redirect(routes.login_url(confirmed="1"))
    else:
        response = redirect(routes.CABINET_HOME)
        set_session_cookie(response, outcome.session_token)
    delete_private_cookie(response, confirmation.TICKET_COOKIE)
    return no_store(response)
