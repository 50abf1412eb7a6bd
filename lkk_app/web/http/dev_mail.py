"""The development mailbox ``/dev/mail``: without an SMTP server letters are
files under ``LKK_MAIL_DIR``, shown here.  Absent in production; answers only
this computer (the letters hold confirmation links and temporary passwords).

``/demo/mail``: a demo without an SMTP server (``LKK_DEMO=1``, fictitious data
only) shows the letters of one address to whoever names that address — the
way a visitor of a public demo reads the confirmation letter.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
import time

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response

from lkk_app import routes
from lkk_app.core.token_bucket import TokenBucket
from lkk_app.i18n import t
from lkk_app.mail import devmail
from lkk_app.settings import get_settings, is_loopback_host
from lkk_app.web.http.base import client_ip, html_page

log = logging.getLogger("lkk.auth")

_LINK_RE = re.compile(r"https?://[^\s<>\"']+")
_FORWARDED_FOR_RE = re.compile(r"for=\"?\[?([^\]\";,]+)", re.I)
_PRIVATE = {"Cache-Control": "no-store"}
_SLOT = "\x00"


def _letter(letter: dict) -> str:
    body = _LINK_RE.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>',
                        html.escape(letter["text"]))
    meta = t("dev_mail.meta", date=str(letter["date"]), to=letter["to"])
    return (f"<article><h2>{html.escape(letter['subject'])}</h2>"
            f"<p class=meta>{html.escape(meta)}</p><pre>{body}</pre></article>")


def _page() -> str:
    settings = get_settings()
    items = [_letter(letter) for letter in devmail.list_dev_mail(settings.mail_dir)]
    title = html.escape(t("dev_mail.title"))
    # The text is escaped as a whole, then the directory goes in as markup.
    notice = html.escape(t("dev_mail.notice", directory=_SLOT)).replace(
        _SLOT, f"<code>{html.escape(str(settings.mail_dir))}</code>")
    empty = "" if items else f"<p>{html.escape(t('dev_mail.empty'))}</p>"
    return html_page(t("dev_mail.title"), (
        f"<main class=cabinet-main><h1 class=section-title>{title}</h1>"
        f"<p class=notice>{notice}</p>{empty}{''.join(items)}</main>"
    ))


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
        log.warning("%s refused for %.64s", routes.DEV_MAIL,
                    request.client.host if request.client else "?")
        return PlainTextResponse(t("dev_mail.loopback_only"), status_code=403, headers=_PRIVATE)
    page = await asyncio.to_thread(_page)
    return HTMLResponse(page, headers={**_PRIVATE, "Referrer-Policy": "no-referrer"})


# The demo mailbox reads letter files at each request: the headers of at most
# DEMO_SCAN of the newest, the whole of at most DEMO_SHOWN letters to the address;
# 2 requests a second per client address (5 saved up), 10 for the process (20).
DEMO_SCAN = 1000
DEMO_SHOWN = 20
MAX_ADDRESS = 254
_DEMO_PACE = TokenBucket(rate=10, burst=20)
_DEMO_CLIENTS: dict[str, TokenBucket] = {}
_DEMO_CLIENTS_MAX = 10_000


def _demo_allowed(ip: str, now: float) -> bool:
    if len(_DEMO_CLIENTS) >= _DEMO_CLIENTS_MAX:
        _DEMO_CLIENTS.clear()
    client = _DEMO_CLIENTS.setdefault(ip, TokenBucket(rate=2, burst=5))
    return client.take(now) and _DEMO_PACE.take(now)


def _demo_page(address: str) -> str:
    settings = get_settings()
    letters = [_letter(m) for m in devmail.mail_to(settings.mail_dir, address, scan=DEMO_SCAN,
                                                     limit=DEMO_SHOWN)]
    title = html.escape(t("demo_mail.title"))
    field = html.escape(address, quote=True)
    form = (f"<form method=get action='{routes.DEMO_MAIL}' class=form>"
            f"<label class=field-label for=to>{html.escape(t('demo_mail.address'))}</label>"
            f"<input class='field-input plain-input' id=to name=to type=email required maxlength={MAX_ADDRESS}"
            f" autocomplete=email value='{field}'>"
            f"<button type=submit class='btn btn-blue'>{html.escape(t('demo_mail.show'))}</button></form>")
    found = "".join(letters) if letters else (
        f"<p>{html.escape(t('demo_mail.empty'))}</p>" if address else "")
    return html_page(t("demo_mail.title"), (
        f"<main class=cabinet-main><h1 class=section-title>{title}</h1>"
        f"<p class=notice>{html.escape(t('demo_mail.notice'))}</p>{form}{found}</main>"
    ))


async def demo_mail(request: Request) -> Response:
    if not get_settings().demo_mailbox:
        return PlainTextResponse("Not Found", status_code=404)
    if not _demo_allowed(client_ip(request), time.monotonic()):
        return PlainTextResponse(t("busy.retry"), status_code=503, headers={**_PRIVATE, "Retry-After": "2"})
    address = request.query_params.get("to", "").strip().lower()[:MAX_ADDRESS]
    page = await asyncio.to_thread(_demo_page, address)
    return HTMLResponse(page, headers={**_PRIVATE, "Referrer-Policy": "no-referrer"})
