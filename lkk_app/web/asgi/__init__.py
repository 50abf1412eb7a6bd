"""Transport-level defences, one module each, composed here into the ASGI
middleware that wraps everything the server answers (the compiled frontend,
the HTTP routes of ``lkk_app/web/http``, ``/ping``, ``/_health`` and Reflex's
Socket.IO endpoint):

* ``host.py`` — only the public host is answered; redirects never name the request's host;
* ``headers.py`` — the security headers and the Content-Security-Policy;
* ``origin.py`` — websockets and state-changing requests from the public origin only;
* ``state_token.py`` — a tab's Reflex state bound to the session cookie;
* ``surrogates.py`` — lone UTF-16 surrogates in websocket messages made harmless;
* ``upload_limit.py`` — the size of a file upload;
* ``page_paths.py`` — a page's address without the trailing slash served without a redirect;
* ``worker_label.py`` — each websocket accepted is logged with the label of its worker.

``event_limits.py`` guards the websocket's events themselves (installed on the
app, not as middleware).  Only Reflex's own CORS middleware sits outside this
stack (its answers to preflight requests carry nothing worth protecting).
"""

from __future__ import annotations

from pathlib import Path

from starlette.types import ASGIApp

from lkk_app.settings import Settings
from lkk_app.web.asgi.headers import SecurityHeaders
from lkk_app.web.asgi.host import HostCheck
from lkk_app.web.asgi.origin import OriginCheck
from lkk_app.web.asgi.page_paths import PagePaths
from lkk_app.web.asgi.state_token import StateTokenBinding
from lkk_app.web.asgi.surrogates import SurrogateCleaner
from lkk_app.web.asgi.upload_limit import UploadLimit
from lkk_app.web.asgi.worker_label import WorkerLabel


def security_middleware(app: ASGIApp, settings: Settings | None = None,
                        static_dir: Path | None = None) -> ASGIApp:
    """``app`` inside every defence; the outer ones answer first.  The headers
    go outermost, so that the refusals of the others carry them too."""
    inner: ASGIApp = UploadLimit(PagePaths(WorkerLabel(app, settings), settings), settings)
    inner = SurrogateCleaner(inner, settings)
    inner = StateTokenBinding(inner, settings)
    inner = OriginCheck(inner, settings)
    inner = HostCheck(inner, settings)
    return SecurityHeaders(inner, settings, static_dir=static_dir)
