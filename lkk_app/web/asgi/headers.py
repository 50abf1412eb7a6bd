"""Security headers on every HTTP response (SECURITY.md, "Transport", explains
each choice): ``X-Content-Type-Options``, ``Cross-Origin-Resource-Policy`` and
``Cache-Control`` on all; the Content-Security-Policy, ``X-Frame-Options``,
``Cross-Origin-Opener-Policy``, ``Permissions-Policy``, ``Referrer-Policy`` and,
with an https public URL, HSTS on everything but scripts, stylesheets, fonts and
raster images (never shown as a page of their own).

The CSP allows inline scripts only by SHA-256 hash — the bootstrap scripts
React Router writes into every prerendered page, read from the built pages at
the first request — and no ``'unsafe-eval'``.  Content-hashed build files under
``/assets/``, and ``/lkk.js``, ``/lkk.css``, ``/favicon.ico``, ``/supplier-logo``
asked for with their current version (``routes.versioned``,
``routes.supplier_logo_address``) are cached for a year; any other version, other
static files and the logo without one are revalidated, everything else ``no-store``.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lkk_app import routes
from lkk_app.settings import Settings
from lkk_app.web.asgi.common import Middleware

# ``index-PQuT34BT.js``, ``_404_._index-Dfwd_-i3.js``, ``manifest-09b0ddb2.js``.
_HASHED_ASSET_RE = re.compile(re.escape(routes.HASHED_ASSETS_PREFIX)
                              + r"(?:[^/]+/)*[^/]+-[A-Za-z0-9_-]{8}\.[A-Za-z0-9]+")
IMMUTABLE_MAX_AGE = 365 * 24 * 3600
IMMUTABLE_CACHE = f"public, max-age={IMMUTABLE_MAX_AGE}, immutable".encode()
STATIC_TYPES = ("text/css", "text/javascript", "application/javascript", "image/", "font/",
                "application/pdf", "application/manifest+json")
# Never cached, whatever their type.
_PRIVATE_PREFIXES = (routes.AUTH_PREFIX, routes.CONFIRM_PREFIX, routes.DEV_PREFIX, routes.DEMO_PREFIX,
                     routes.CAPTCHA_PREFIX, routes.INTERNAL_PREFIX)
HSTS_MAX_AGE = 365 * 24 * 3600

_INLINE_SCRIPT_RE = re.compile(r"<script\b(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script\s*>", re.S | re.I)

_REPLACED = frozenset({
    b"content-security-policy", b"x-content-type-options", b"x-frame-options",
    b"referrer-policy", b"cross-origin-opener-policy", b"cross-origin-resource-policy",
    b"permissions-policy", b"strict-transport-security",
})


def inline_script_hashes(html_files: Iterable[Path]) -> list[str]:
    """CSP source expressions (``'sha256-…'``) for every inline script of the given pages."""
    hashes: set[str] = set()
    for path in html_files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        for match in _INLINE_SCRIPT_RE.finditer(text):
            body = match.group(1)
            if body:
                digest = hashlib.sha256(body.encode("utf-8")).digest()
                hashes.add("'sha256-" + base64.b64encode(digest).decode("ascii") + "'")
    return sorted(hashes)


def frontend_static_dir() -> Path | None:
    """The compiled frontend this server mounts (production mode), if it is built."""
    from reflex.utils import prerequisites
    from reflex_base import constants
    from reflex_base.config import get_config

    path = (prerequisites.get_web_dir() / constants.Dirs.STATIC
            / get_config().frontend_path.strip("/")).resolve()
    return path if path.is_dir() else None


def websocket_origin(public_origin: str) -> str:
    parts = urlsplit(public_origin)
    return ("wss" if parts.scheme == "https" else "ws") + "://" + parts.netloc


def content_security_policy(settings: Settings, script_hashes: Iterable[str] = ()) -> str:
    directives = [
        "default-src 'self'",
        "script-src " + " ".join(["'self'", *script_hashes]),
        "script-src-attr 'none'",
        "style-src 'self' 'unsafe-inline'" + (" " + settings.frontend_origin if settings.split_site else ""),
        # The split shape: the server's logo on the pages, the pages' icon on the server's own pages.
        "img-src 'self' data:" + (f" {settings.public_origin} {settings.frontend_origin}"
                                  if settings.split_site else ""),
        "font-src 'self' data:",
        # The split shape: the pages (on their own site) also fetch from the server.
        "connect-src 'self' " + (settings.public_origin + " " if settings.split_site else "")
        + websocket_origin(settings.public_origin),
        "media-src 'self'" + (" " + settings.public_origin if settings.split_site else ""),
        "object-src 'none'",
        "frame-src 'none'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "base-uri 'none'",
        # The split shape: the pages post to the server, whose confirmation page
        # goes on to the pages' site.
        "form-action 'self'" + (" " + " ".join(settings.page_origins) if settings.split_site else ""),
        "frame-ancestors 'none'",
    ]
    if settings.public_url.startswith("https://"):
        directives.append("upgrade-insecure-requests")
    return "; ".join(directives)


# Every response gets what a script, stylesheet or font needs too:
# ``X-Content-Type-Options: nosniff`` and the resource policy below.
# The split shape: what the pages on their own site show from the server
# (no session needed: the challenge id is the key, the logo is public).
_SHOWN_ON_THE_PAGES_SITE = (routes.CAPTCHA_PREFIX, routes.SUPPLIER_LOGO)


def resource_policy(settings: Settings, path: str) -> bytes:
    """``Cross-Origin-Resource-Policy``: ``same-origin``, except the spoken
    code and the logo when the pages are on another site."""
    if settings.split_site and path.startswith(_SHOWN_ON_THE_PAGES_SITE):
        return b"cross-origin"
    return b"same-origin"
# Scripts, stylesheets, fonts and raster images are never shown as a page of
# their own: the page-only headers (CSP, framing, referrer, permissions, HSTS)
# would only add bytes to each of them (≈ 1.3 KB, 15 % of a first visit).
# An SVG can carry scripts when opened directly: it keeps them.
_SUBRESOURCE_TYPES = ("text/css", "text/javascript", "application/javascript", "font/", "image/")


def fixed_headers(settings: Settings) -> list[tuple[bytes, bytes]]:
    """The page-only headers apart from CSP and Referrer-Policy."""
    headers = [
        (b"x-frame-options", b"DENY"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
    ]
    if settings.public_url.startswith("https://"):
        headers.append((b"strict-transport-security", f"max-age={HSTS_MAX_AGE}".encode()))
    return headers


def static_site_headers(settings: Settings, pages_dir: Path) -> list[tuple[str, str]]:
    """The headers a static host must send with the exported pages of the split
    shape (``python -m lkk_app.cli static-headers``): the same policy as the
    server's, with the hashes of the pages' inline scripts."""
    policy = content_security_policy(settings, inline_script_hashes(sorted(pages_dir.rglob("*.html"))))
    return [("Content-Security-Policy", policy), ("Referrer-Policy", "same-origin"),
            ("X-Content-Type-Options", "nosniff"), ("Cache-Control", "no-store"),
            *((name.decode().title(), value.decode()) for name, value in fixed_headers(settings))]


def is_subresource(status: int, content_type: str) -> bool:
    """A successful script, stylesheet, font or raster image (not SVG)."""
    return status in (200, 206, 304) and content_type.startswith(_SUBRESOURCE_TYPES) \
        and not content_type.startswith("image/svg")


def referrer_policy(path: str) -> bytes:
    # The confirmation page posts its own button: ``no-referrer`` would make
    # that post ``Origin: null`` (refused); ``strict-origin`` keeps the path
    # with the token out of every Referer and the Origin in the post.
    if path.startswith(routes.CONFIRM_PREFIX):
        return b"strict-origin"
    return b"no-referrer" if path.startswith(routes.ONE_TIME_LINK_PREFIXES) else b"same-origin"


def is_hashed_asset(path: str) -> bool:
    """A file of the build named after its content (a new build, a new name)."""
    return path.startswith(routes.HASHED_ASSETS_PREFIX) and bool(_HASHED_ASSET_RE.fullmatch(path))


def is_versioned_file(path: str, query: bytes) -> bool:
    """A file asked for with its current version (``routes.versioned``,
    ``routes.supplier_logo_address``).  Another version — an old page, a host not
    yet updated — must not keep today's file for a year under its address."""
    prefix = routes.VERSION_PARAM.encode() + b"="
    if path not in routes.VERSIONED_FILES or not query.startswith(prefix):
        return False
    current = routes.current_version(path)
    return current is not None and query == prefix + current.encode()


def cache_control(path: str, status: int, content_type: str, query: bytes = b"") -> bytes:
    """The Cache-Control to send (it replaces the response's own)."""
    if status in (200, 304) and (is_hashed_asset(path) or is_versioned_file(path, query)):
        return IMMUTABLE_CACHE
    if status in (200, 206, 304) and content_type.startswith(STATIC_TYPES) \
            and not path.startswith(_PRIVATE_PREFIXES) and path != routes.PING:
        return b"no-cache"
    return b"no-store"


class SecurityHeaders(Middleware):
    """Sets the headers above on every HTTP response (they replace the app's
    own); websockets pass untouched."""

    def __init__(self, app: ASGIApp, settings: Settings | None = None,
                 static_dir: Path | None = None) -> None:
        super().__init__(app, settings)
        self._static_dir = static_dir
        self._csp: bytes | None = None
        self._fixed: list[tuple[bytes, bytes]] = []

    def csp(self) -> bytes:
        """Built at the first request: by then the production build exists."""
        if self._csp is None:
            static_dir = self._static_dir or frontend_static_dir()
            hashes = inline_script_hashes(sorted(static_dir.rglob("*.html"))) if static_dir else []
            self._fixed = fixed_headers(self.settings)
            self._csp = content_security_policy(self.settings, hashes).encode()
        return self._csp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        query: bytes = scope.get("query_string", b"")
        csp = self.csp()
        fixed = self._fixed

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _REPLACED]
                content_type = next((v.decode("latin-1").lower() for k, v in headers
                                     if k.lower() == b"content-type"), "")
                headers = [(k, v) for k, v in headers
                           if k.lower() not in (b"cache-control", b"pragma", b"expires")]
                status = message["status"]
                headers.append((b"cache-control", cache_control(path, status, content_type, query)))
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"cross-origin-resource-policy", resource_policy(self.settings, path)))
                if not is_subresource(status, content_type):
                    headers.append((b"content-security-policy", csp))
                    headers.append((b"referrer-policy", referrer_policy(path)))
                    headers.extend(fixed)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
