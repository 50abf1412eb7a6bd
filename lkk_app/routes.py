"""Every address of the cabinet: its pages, the cabinet's tabs, the HTTP routes
beside the Reflex app, Reflex's own endpoints and the static files.

Nothing else in ``lkk_app`` spells a path (``tests/unit/test_routes.py``
checks).  Plain Python: the mail templates use it for their links, so it must
not import Reflex; the page registry imports the pages only when asked.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

# --------------------------------------------------------------------------- pages

LOGIN = "/"
REGISTER = "/register"
FORGOT = "/forgot"
SUPPORT = "/support"
CHANGE_PASSWORD = "/change-password"  # noqa: S105 - a page, not a password
CONFIRM_FAILED = "/confirm-failed"
PROFILE = "/profile"
CONTRACTS = "/contracts"
POINTS = "/points"
READINGS = "/readings"
DOCUMENTS = "/documents"
SETTLEMENTS = "/settlements"
# Where a login lands unless it asked for another page.
CABINET_HOME = PROFILE
# The page of an address the cabinet does not have (Reflex's name for it).
NOT_FOUND = "404"
# Another name of the login window, sent to LOGIN (web/asgi/page_paths.py).
LOGIN_ALIAS = "/login"

# --------------------------------------------------------------------------- HTTP routes (lkk_app/web/http)

AUTH_PREFIX = "/auth/"
AUTH_LOGIN = AUTH_PREFIX + "login"
AUTH_LOGOUT = AUTH_PREFIX + "logout"
AUTH_RESEND = AUTH_PREFIX + "resend"
# The link of the confirmation letter: GET shows a page, POST confirms.
CONFIRM_PREFIX = "/confirm/"
CONFIRM_LINK = CONFIRM_PREFIX + "{token}"
# A document's PDF, and several in one .zip (``?key=…&key=…``); session and ownership checked.
FILES_PREFIX = "/files/"
DOCUMENT_FILE = FILES_PREFIX + "document/{key}"
DOCUMENTS_ZIP = FILES_PREFIX + "documents.zip"
# «Прослушать код»: the spoken authorization code of one challenge (a WAV).
CAPTCHA_PREFIX = "/captcha/"
CAPTCHA_AUDIO = CAPTCHA_PREFIX + "audio/{challenge_id}"
DEV_PREFIX = "/dev/"
DEV_MAIL = DEV_PREFIX + "mail"
# A demo without SMTP (LKK_DEMO=1): the letters of one address, for whoever names it.
DEMO_PREFIX = "/demo/"
DEMO_MAIL = DEMO_PREFIX + "mail"
# Addresses that carry a one-time secret, or list such addresses.
ONE_TIME_LINK_PREFIXES = (CONFIRM_PREFIX, DEV_PREFIX, DEMO_PREFIX)

# --------------------------------------------------------------------------- Reflex's own

EVENT = "/_event"
UPLOAD = "/_upload"  # files sent to an event handler (rx.upload)
PING = "/ping"
HEALTH = "/_health"
# Reflex's internal endpoints start with this.
INTERNAL_PREFIX = "/_"
# The build's files, named after their content hash.
HASHED_ASSETS_PREFIX = "/assets/"

# --------------------------------------------------------------------------- static files (assets/)

STYLESHEET = "/lkk.css"
# The supplier's logo (LKK_SUPPLIER_LOGO), served by web/http/supplier.py.
SUPPLIER_LOGO = "/supplier-logo"
SCRIPT = "/lkk.js"
FAVICON = "/favicon.ico"
# Named with their version by the pages, then cached for a year (web/asgi/headers.py).
VERSIONED_FILES = (SCRIPT, STYLESHEET, FAVICON, SUPPLIER_LOGO)
GUIDES_PREFIX = "/guides/"
REGISTRATION_GUIDE = GUIDES_PREFIX + "registration-guide.pdf"
USER_GUIDE = GUIDES_PREFIX + "user-guide.pdf"


# A file of VERSIONED_FILES asked for as ``<path>?v=<version>`` is cached for a
# year (web/asgi/headers.py): the version is the start of the file's SHA-256, so
# any change gives the pages a new address.
VERSION_PARAM = "v"


def _versioned_file(path: str) -> Any:
    """The file behind one of ``VERSIONED_FILES``: the logo the settings name, or a file of ``assets/``."""
    from pathlib import Path

    from lkk_app.settings import get_settings

    if path == SUPPLIER_LOGO:
        return get_settings().supplier_logo
    return Path(__file__).resolve().parents[1] / "assets" / path.lstrip("/")


def versioned(path: str) -> str:
    """``path`` (one of ``VERSIONED_FILES``) with ``?v=`` and 12 hex digits of its
    SHA-256 (hashed once per version of the file: plain pages ask for it at every request)."""
    file = _versioned_file(path)
    return f"{path}?{VERSION_PARAM}={_content_version(file, file.stat().st_mtime_ns)}"


def current_version(path: str) -> str | None:
    """The version of one of ``VERSIONED_FILES`` as it is now (None: no such file)."""
    file = _versioned_file(path)
    try:
        return _content_version(file, file.stat().st_mtime_ns)
    except OSError:
        return None


def supplier_logo_address() -> str:
    """The supplier's logo (``LKK_SUPPLIER_LOGO``) as a page names it, with its
    version: cached for a year, a new logo gets a new address."""
    return server_address(versioned(SUPPLIER_LOGO))


@functools.lru_cache(maxsize=8)
def _content_version(file: Any, mtime_ns: int) -> str:
    import hashlib

    return hashlib.sha256(file.read_bytes()).hexdigest()[:12]


# --------------------------------------------------------------------------- the two sites
# One site (the default): every address is a path.  The split shape
# (LKK_FRONTEND_URL, SECURITY.md): the pages on one site, the server on another —
# a page links to the server's routes by their full address, and the server
# sends people back to the pages' site.


def server_address(path: str) -> str:
    """A route of the server (a form's action, a file) as a page must name it."""
    from lkk_app.settings import get_settings

    settings = get_settings()
    return settings.public_url + path if settings.split_site else path


def page_address(path: str) -> str:
    """A page as the server must send people to it."""
    from lkk_app.settings import get_settings

    settings = get_settings()
    return settings.pages_url + path if settings.split_site else path


# --------------------------------------------------------------------------- addresses with parameters


def with_query(path: str, **params: str) -> str:
    """``path`` with the non-empty ``params`` as its query."""
    query = urlencode({k: v for k, v in params.items() if v})
    return path + (f"?{query}" if query else "")


def login_url(**params: str) -> str:
    """The login window with what it must show (``e=``, ``out=``, ``next=`` …)."""
    return with_query(LOGIN, **params)


def login_then(target: str, *, ended: bool = False) -> str:
    """The login window that returns to ``target`` (a path with its query)
    afterwards; ``ended``: it says «Сеанс завершён» (the session this browser
    had has ended: logged out elsewhere, ended from another device, expired)."""
    return f"{LOGIN}?next={quote(target, safe='/')}" + ("&expired=1" if ended else "")


def confirm_link(token: str) -> str:
    return CONFIRM_LINK.format(token=token)


def confirm_failed(reason: str) -> str:
    return with_query(CONFIRM_FAILED, reason=reason)


def safe_next(raw: str | None, default: str = CABINET_HOME) -> str:
    """Only a same-site absolute path may be a redirect target."""
    if not raw or len(raw) > 512:
        return default
    if not raw.startswith("/") or raw.startswith("//") or raw.startswith("/\\"):
        return default
    if any(ch in raw for ch in "\r\n\t\\") or ":" in raw.split("?", 1)[0]:
        return default
    if raw == LOGIN or raw.startswith(LOGIN + "?"):
        return default
    return raw


# --------------------------------------------------------------------------- the cabinet's tabs


@dataclasses.dataclass(frozen=True)
class Tab:
    key: str
    label_key: str  # catalogue key of its name
    path: str


TABS: tuple[Tab, ...] = (
    Tab("profile", "cabinet.tab.profile", PROFILE),
    Tab("contracts", "cabinet.tab.contracts", CONTRACTS),
    Tab("points", "cabinet.tab.points", POINTS),
    Tab("readings", "cabinet.tab.readings", READINGS),
    Tab("documents", "cabinet.tab.documents", DOCUMENTS),
    Tab("settlements", "cabinet.tab.settlements", SETTLEMENTS),
)


def captcha_audio(challenge_id: str) -> str:
    return CAPTCHA_AUDIO.format(challenge_id=quote(challenge_id, safe=""))


def document_file(key: str) -> str:
    return DOCUMENT_FILE.format(key=quote(key, safe=""))


def documents_zip(keys: list[str]) -> str:
    return DOCUMENTS_ZIP + "?" + urlencode([("key", k) for k in keys])


def with_contract(path: str, contract_key: str) -> str:
    """A tab that shows one contract, opened on ``contract_key``."""
    return with_query(path, contract=contract_key)


# --------------------------------------------------------------------------- the page registry


@dataclasses.dataclass(frozen=True)
class Page:
    path: str
    title_key: str
    component: Callable[[], Any]
    on_load: Any


def pages() -> list[Page]:
    """Every page with its title and load event, for ``app.add_page``
    (``lkk_app/lkk_app.py``).  Imported here, not at the top: the pages import
    this module for their links."""
    from lkk_app.pages.change_password import change_password_page
    from lkk_app.pages.confirm import confirm_failed_page
    from lkk_app.pages.contracts import contracts_page
    from lkk_app.pages.documents import documents_page
    from lkk_app.pages.forgot import forgot_page
    from lkk_app.pages.login import login_page
    from lkk_app.pages.not_found import not_found_page
    from lkk_app.pages.points import points_page
    from lkk_app.pages.profile import profile_page
    from lkk_app.pages.readings import readings_page
    from lkk_app.pages.register import register_page
    from lkk_app.pages.settlements import settlements_page
    from lkk_app.pages.support import support_page
    from lkk_app.state.change_password import ChangePasswordState
    from lkk_app.state.confirm import ConfirmFailedState
    from lkk_app.state.contracts import ContractsState
    from lkk_app.state.documents import DocumentsState
    from lkk_app.state.forgot import ForgotState
    from lkk_app.state.login import LoginState
    from lkk_app.state.points import PointsState
    from lkk_app.state.profile import ProfileState
    from lkk_app.state.readings import ReadingsState
    from lkk_app.state.register import RegisterState
    from lkk_app.state.settlements import SettlementsState
    from lkk_app.state.support import SupportState

    return [
        Page(LOGIN, "login.title", login_page, LoginState.on_load),
        Page(PROFILE, "profile.title", profile_page, ProfileState.on_load),
        Page(CONTRACTS, "contracts.title", contracts_page, ContractsState.on_load),
        Page(POINTS, "points.title", points_page, PointsState.on_load),
        Page(READINGS, "readings.title", readings_page, ReadingsState.on_load),
        Page(DOCUMENTS, "documents.title", documents_page, DocumentsState.on_load),
        Page(SETTLEMENTS, "settlements.title", settlements_page, SettlementsState.on_load),
        Page(REGISTER, "register.title", register_page, RegisterState.on_load),
        Page(SUPPORT, "support.title", support_page, SupportState.on_load),
        Page(CONFIRM_FAILED, "confirm.bad_title", confirm_failed_page, ConfirmFailedState.on_load),
        Page(FORGOT, "login.forgot", forgot_page, ForgotState.on_load),
        Page(CHANGE_PASSWORD, "change.title", change_password_page, ChangePasswordState.on_load),
        Page(NOT_FOUND, "notfound.title", not_found_page, None),
    ]
