"""Transport-level defences, as one pure ASGI middleware.

Applied last through ``rx.App(api_transformer=[build_http_app(), security_headers])``
so that it wraps everything the server answers: the compiled frontend (pages,
assets, 404s), the HTTP routes of :mod:`lkk_app.http_routes`, ``/ping``,
``/_health`` and the Socket.IO endpoint ``/_event``.  Only Reflex's own CORS
middleware sits outside it (its answers to CORS preflight requests carry no
body worth protecting; see ``SECURITY.md``).

1. Headers on every HTTP response (``SECURITY.md`` explains each choice):

   * ``Content-Security-Policy`` — ``'self'`` for everything, ``data:`` images
     (the captcha), the app's own websocket origin, no plugins, no frames, no
     ``<base>``, forms only to this origin, no framing by others.  Inline
     scripts only by SHA-256 hash: the bootstrap scripts that React Router
     writes into every prerendered page, read from the built pages at the
     first request.  No ``'unsafe-eval'``: the app never uses
     ``rx.call_script`` (which ``eval``s); ``style-src 'unsafe-inline'`` for
     the ``<style>`` elements Emotion (Reflex's CSS-in-JS) and the toast
     library create at run time.
   * ``X-Frame-Options: DENY``, ``X-Content-Type-Options: nosniff``,
     ``Cross-Origin-Opener-Policy`` / ``-Resource-Policy: same-origin``, a
     restrictive ``Permissions-Policy``.
   * ``Referrer-Policy: same-origin`` — no address ever goes to another site —
     ``no-referrer`` on ``/dev/*`` and ``strict-origin`` on ``/confirm/*``
     (one-time links: only the origin, never the path with the token, is
     ever sent as a Referer).  Not ``no-referrer`` everywhere: with it
     browsers send ``Origin: null`` on form posts, and the origin checks
     would refuse them — the confirmation page posts its own button.
   * ``Cache-Control: no-store`` on everything but static files: content-hashed
     assets under ``/assets/`` are cached for a year (below), other static files
     (``/lkk.css``, the guides) get ``no-cache`` (revalidate).
   * ``Strict-Transport-Security`` only when ``LKK_PUBLIC_URL`` is https.
   * ``Cache-Control: public, max-age=31536000, immutable`` on the
     content-hashed files of the build (``/assets/<name>-<8-character hash>.<ext>``):
     a new build gives them new names, so browsers never need to ask again.

2. Origins: a websocket handshake or HTTP request to ``/_event``, and any
   state-changing request (POST, PUT, PATCH, DELETE), whose ``Origin`` is
   present and not the configured public origin is refused with 403 —
   independently of Reflex's ``cors_allowed_origins`` (which a ``REFLEX_*``
   variable could widen).

2a. Host: a request whose ``Host`` header is not the host of ``LKK_PUBLIC_URL``
   (in development also ``localhost``, ``127.0.0.1`` or ``[::1]`` on the same
   port, or on Reflex's backend port) is refused with 400 — the websocket
   handshake with a close before the accept (403) — except ``/ping`` and
   ``/_health`` (health checks of load balancers use addresses).  And no
   redirect ever names a host taken from the request: an absolute
   ``Location`` that points at the request's own host (Starlette builds them
   from ``Host`` for the trailing-slash redirects of ``/register`` and the
   like) is sent as a path (``/register/``), which also keeps a plain
   ``http://`` scheme seen behind a TLS proxy out of redirects.

3. Reflex state bound to the session cookie: Reflex keeps each tab's state
   under the ``token`` the browser sends in the websocket URL — a value made
   with ``Math.random`` that also shows up in proxy logs.  Whoever presents a
   token gets that state, including what a logged-in page put there (login,
   e-mail, phone, the list of sessions), sent in the first frame before any
   handler runs.  The middleware replaces the token with
   ``HMAC(secret key, token | session cookie)``: the same tab with the same
   cookie keeps its state, but a copied token without the cookie, or the same
   tab after logout or another login, starts from an empty state.

4. Lone UTF-16 surrogates: JSON may carry ``\\ud800`` escapes, which Python
   decodes into strings that cannot be encoded, hashed or stored (SQLite and
   PostgreSQL refuse them, so any handler that writes them would fail).  The
   middleware turns an unpaired surrogate escape in a websocket message into
   U+FFFD before Reflex parses it; paired ones (emoji) pass unchanged.

5. Logs: Reflex writes whole events, handshake headers included, into its log
   when a handler is unknown or fails.  :func:`install_log_redaction` masks
   cookie headers, the session cookie and password-like fields in every log
   record of the process.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import uuid
from collections.abc import Iterable
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lkk_app.settings import Settings, get_settings

log = logging.getLogger("lkk.security")

EVENT_PATH = "/_event"
# Vite names every file under /assets/ after its content hash: safe to cache.
HASHED_ASSETS_PREFIX = "/assets/"
# ``index-PQuT34BT.js``, ``_404_._index-Dfwd_-i3.js``, ``manifest-09b0ddb2.js``.
_HASHED_ASSET_RE = re.compile(r"/assets/(?:[^/]+/)*[^/]+-[A-Za-z0-9_-]{8}\.[A-Za-z0-9]+")
IMMUTABLE_MAX_AGE = 365 * 24 * 3600
IMMUTABLE_CACHE = f"public, max-age={IMMUTABLE_MAX_AGE}, immutable".encode()
# Answered whatever the Host header says (health checks of load balancers).
HOST_EXEMPT_PATHS = frozenset({"/ping", "/_health"})
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST_HEADER_RE = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::([0-9]{1,5}))?")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
STATIC_TYPES = ("text/css", "text/javascript", "application/javascript", "image/", "font/",
                "application/pdf", "application/manifest+json")
HSTS_MAX_AGE = 365 * 24 * 3600
# Pages whose address carries a one-time secret (or lists such addresses).
ONE_TIME_LINK_PREFIXES = ("/confirm/", "/dev/")
CONFIRM_LINK_PREFIX = "/confirm/"
STATE_TOKEN_PURPOSE = b"lkk-reflex-state-token|"

_INLINE_SCRIPT_RE = re.compile(r"<script\b(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script\s*>", re.S | re.I)


# --------------------------------------------------------------------------- CSP


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
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self' " + websocket_origin(settings.public_origin),
        "media-src 'none'",
        "object-src 'none'",
        "frame-src 'none'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
    if settings.public_url.startswith("https://"):
        directives.append("upgrade-insecure-requests")
    return "; ".join(directives)


def fixed_headers(settings: Settings) -> list[tuple[bytes, bytes]]:
    """The headers every response gets, apart from CSP and Cache-Control."""
    headers = [
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"cross-origin-resource-policy", b"same-origin"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
    ]
    if settings.public_url.startswith("https://"):
        headers.append((b"strict-transport-security", f"max-age={HSTS_MAX_AGE}".encode()))
    return headers


_REPLACED = frozenset({
    b"content-security-policy", b"x-content-type-options", b"x-frame-options",
    b"referrer-policy", b"cross-origin-opener-policy", b"cross-origin-resource-policy",
    b"permissions-policy", b"strict-transport-security",
})


def referrer_policy(path: str) -> bytes:
    # The confirmation page posts its own button: ``no-referrer`` would make
    # that post ``Origin: null`` (refused); ``strict-origin`` keeps the path
    # with the token out of every Referer and the Origin in the post.
    if path.startswith(CONFIRM_LINK_PREFIX):
        return b"strict-origin"
    return b"no-referrer" if path.startswith(ONE_TIME_LINK_PREFIXES) else b"same-origin"


def is_hashed_asset(path: str) -> bool:
    """A file of the build named after its content (a new build, a new name)."""
    return path.startswith(HASHED_ASSETS_PREFIX) and bool(_HASHED_ASSET_RE.fullmatch(path))


def cache_control(path: str, status: int, content_type: str) -> bytes:
    """The Cache-Control to send (it replaces the response's own)."""
    if status in (200, 304) and is_hashed_asset(path):
        return IMMUTABLE_CACHE
    if status in (200, 206, 304) and content_type.startswith(STATIC_TYPES) \
            and not path.startswith(("/auth/", "/confirm/", "/dev/", "/_")) and path != "/ping":
        return b"no-cache"
    return b"no-store"


# --------------------------------------------------------------------------- Host


def parse_host(value: str, default_port: int) -> tuple[str, int] | None:
    """``Host`` header value -> (lower-case host without brackets, port), or None."""
    match = _HOST_HEADER_RE.fullmatch(value.strip())
    if not match:
        return None
    port = int(match.group(2)) if match.group(2) else default_port
    if not 0 < port < 65536:
        return None
    return match.group(1).strip("[]").lower().rstrip("."), port


def allowed_hosts(settings: Settings, dev_ports: Iterable[int] = ()) -> frozenset[tuple[str, int]]:
    """The (host, port) pairs a request may name in ``Host``: the public URL's,
    and in development the loopback names on the public port and ``dev_ports``."""
    parts = urlsplit(settings.public_origin)
    default_port = DEFAULT_PORTS.get(parts.scheme, 80)
    port = parts.port or default_port
    allowed = {((parts.hostname or "").lower().rstrip("."), port)}
    if not settings.is_production:
        for p in {port, *dev_ports}:
            allowed.update((name, p) for name in LOOPBACK_NAMES)
    return frozenset(allowed)


def _reflex_ports() -> list[int]:
    """The ports Reflex serves on (in development the backend has its own)."""
    try:
        from reflex_base.config import get_config

        config = get_config()
        return [p for p in (config.backend_port, config.frontend_port) if isinstance(p, int)]
    except Exception:  # noqa: BLE001 - no Reflex config (tests of the bare middleware)
        return []


def relative_location(location: str, own_hosts: Iterable[str]) -> str:
    """An absolute ``Location`` that points at one of ``own_hosts`` (``host[:port]``,
    lower case), as a path; any other value unchanged."""
    parts = urlsplit(location)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return location
    if parts.netloc.lower() not in own_hosts:
        return location
    # One leading slash: "//evil" would be read as another host.
    path = "/" + parts.path.lstrip("/")
    return path + (f"?{parts.query}" if parts.query else "") + (f"#{parts.fragment}" if parts.fragment else "")


# --------------------------------------------------------------------------- helpers


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _cookie(scope: Scope, name: str) -> str:
    raw = _header(scope, b"cookie")
    if not raw:
        return ""
    jar = SimpleCookie()
    try:
        jar.load(raw)
    except CookieError:
        return ""
    morsel = jar.get(name)
    return morsel.value if morsel else ""


def bound_state_token(client_token: str, session_cookie: str, secret_key: bytes) -> str:
    """The token Reflex keeps the tab's state under: the browser's token bound to
    the session cookie (a UUID-shaped string, as Reflex expects)."""
    mac = hmac.new(secret_key, STATE_TOKEN_PURPOSE + client_token.encode("utf-8", "replace")
                   + b"|" + session_cookie.encode("latin-1", "replace"), hashlib.sha256).digest()
    return str(uuid.UUID(bytes=mac[:16], version=4))


def _rebind_token(scope: Scope, settings: Settings) -> Scope:
    raw = scope.get("query_string", b"").decode("latin-1")
    pairs = parse_qsl(raw, keep_blank_values=True)
    if not any(k == "token" for k, _ in pairs):
        return scope
    cookie = _cookie(scope, settings.session_cookie_name)
    pairs = [(k, bound_state_token(v, cookie, settings.secret_key) if k == "token" else v)
             for k, v in pairs]
    return {**scope, "query_string": urlencode(pairs).encode("latin-1")}


# A JSON \\uXXXX escape of a surrogate, not itself escaped (an even number of
# backslashes before it): a high one with its low partner, a high one alone, a low one alone.
_SURROGATE_ESCAPE_RE = re.compile(
    r"(?<!\\)((?:\\\\)*)\\u[dD][89abAB][0-9a-fA-F]{2}(?:\\u[dD][c-fC-F][0-9a-fA-F]{2})?"
    r"|(?<!\\)((?:\\\\)*)\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def clean_lone_surrogates(text: str) -> str:
    """Replace unpaired surrogate escapes in JSON text by ``\\ufffd``."""
    if "\\u" not in text:
        return text

    def fix(m: re.Match) -> str:
        whole = m.group(0)
        lead = m.group(1) if m.group(1) is not None else (m.group(2) or "")
        escape = whole[len(lead):]
        return whole if len(escape) == 12 else lead + "\\ufffd"

    return _SURROGATE_ESCAPE_RE.sub(fix, text)


def _clean_receive(receive: Receive) -> Receive:
    async def wrapped() -> Message:
        message = await receive()
        if message.get("type") == "websocket.receive" and message.get("text"):
            text = message["text"]
            cleaned = clean_lone_surrogates(text)
            if cleaned != text:
                message = {**message, "text": cleaned}
        return message

    return wrapped


async def _refuse(send: Send, status: int = 403, body: bytes = b"Forbidden") -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _forbidden(send: Send) -> None:
    await _refuse(send)


# --------------------------------------------------------------------------- middleware


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings | None = None,
                 static_dir: Path | None = None) -> None:
        self.app = app
        self._settings = settings
        self._static_dir = static_dir
        self._csp: bytes | None = None
        self._fixed: list[tuple[bytes, bytes]] = []
        self._hosts: frozenset[tuple[str, int]] | None = None

    @property
    def settings(self) -> Settings:
        return self._settings or get_settings()

    def csp(self) -> bytes:
        """Built at the first request: by then the production build exists."""
        if self._csp is None:
            static_dir = self._static_dir or frontend_static_dir()
            hashes = inline_script_hashes(sorted(static_dir.rglob("*.html"))) if static_dir else []
            self._fixed = fixed_headers(self.settings)
            self._csp = content_security_policy(self.settings, hashes).encode()
        return self._csp

    def hosts(self) -> frozenset[tuple[str, int]]:
        if self._hosts is None:
            self._hosts = allowed_hosts(self.settings, _reflex_ports())
        return self._hosts

    def foreign_host(self, scope: Scope) -> str | None:
        """The request's ``Host`` when it is not one this server answers to.
        A request without one (HTTP/1.0) names no host that could be reflected."""
        if scope.get("path", "") in HOST_EXEMPT_PATHS:
            return None
        host = _header(scope, b"host")
        if host is None:
            return None
        default_port = DEFAULT_PORTS.get(urlsplit(self.settings.public_origin).scheme, 80)
        parsed = parse_host(host, default_port)
        if parsed is not None and parsed in self.hosts():
            return None
        return host

    def foreign_origin(self, scope: Scope) -> str | None:
        """The request's Origin when it is present and not the public origin."""
        origin = _header(scope, b"origin")
        if origin is None or origin == self.settings.public_origin:
            return None
        return origin

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        is_event = path == EVENT_PATH or path.startswith(EVENT_PATH + "/")

        foreign_host = self.foreign_host(scope)
        if foreign_host is not None:
            log.warning("%s %.64s with a foreign Host refused: %.100r", kind, path, foreign_host)
        if kind == "websocket":
            if foreign_host is not None:
                await send({"type": "websocket.close", "code": 1008})
                return
            origin = self.foreign_origin(scope)
            if origin is not None:
                log.warning("websocket from a foreign origin refused: %.100r", origin)
                # A close before the accept is answered with HTTP 403.
                await send({"type": "websocket.close", "code": 1008})
                return
            if is_event:
                scope = _rebind_token(scope, self.settings)
                receive = _clean_receive(receive)
            await self.app(scope, receive, send)
            return

        csp = self.csp()
        fixed = self._fixed
        own_hosts = {urlsplit(self.settings.public_origin).netloc.lower()}
        request_host = _header(scope, b"host")
        if request_host and foreign_host is None:
            own_hosts.add(request_host.strip().lower())
        server = scope.get("server")
        if request_host is None and server:
            # Without Host, Starlette names the listening address instead.
            name = f"[{server[0]}]" if ":" in str(server[0]) else str(server[0])
            own_hosts.update({name.lower(), f"{name}:{server[1]}".lower()})

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, relative_location(v.decode("latin-1"), own_hosts).encode("latin-1"))
                           if k.lower() == b"location" else (k, v)
                           for k, v in message.get("headers", []) if k.lower() not in _REPLACED]
                content_type = next((v.decode("latin-1").lower() for k, v in headers
                                     if k.lower() == b"content-type"), "")
                cc = cache_control(path, message["status"], content_type)
                if cc is not None:
                    headers = [(k, v) for k, v in headers
                               if k.lower() not in (b"cache-control", b"pragma", b"expires")]
                    headers.append((b"cache-control", cc))
                headers.append((b"content-security-policy", csp))
                headers.append((b"referrer-policy", referrer_policy(path)))
                headers.extend(fixed)
                message = {**message, "headers": headers}
            await send(message)

        if foreign_host is not None:
            await _refuse(send_with_headers, 400, b"Bad Request")
            return
        method = scope.get("method", "GET").upper()
        if is_event or method not in SAFE_METHODS:
            origin = self.foreign_origin(scope)
            if origin is not None:
                log.warning("%s %.64s from a foreign origin refused: %.100r", method, path, origin)
                await _forbidden(send_with_headers)
                return
        if is_event:
            scope = _rebind_token(scope, self.settings)
        await self.app(scope, receive, send_with_headers)


# --------------------------------------------------------------------------- logs

_SECRET_KEYS = r"cookie|authorization|password|current_password|new_password|password_confirm|code"
_QUOTED_VALUE = r"""(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")"""
_KEYED_SECRET_RE = re.compile(
    r"""(?P<key>['"](?:""" + _SECRET_KEYS + r""")['"]\s*:\s*)""" + _QUOTED_VALUE, re.I)


def redact(text: str, cookie_names: Iterable[str]) -> str:
    text = _KEYED_SECRET_RE.sub(lambda m: m.group("key") + "'[redacted]'", text)
    for name in cookie_names:
        text = re.sub(re.escape(name) + r"=[^;,\s'\"]+", name + "=[redacted]", text)
    return text


_installed = False


def install_log_redaction(settings: Settings | None = None) -> None:
    """Mask secrets in every log record this process makes (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    names = [(settings or get_settings()).session_cookie_name, "lkk_pending"]
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string is the caller's problem
            return record
        cleaned = redact(message, names)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return record

    logging.setLogRecordFactory(factory)


def security_headers(app: ASGIApp) -> ASGIApp:
    """The ``api_transformer`` callable: wrap the whole ASGI app."""
    install_log_redaction()
    return SecurityHeadersMiddleware(app)
