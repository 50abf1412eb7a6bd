"""A page's address without the trailing slash is served as it is.

The compiled frontend is one ``index.html`` per page folder (``/profile/``);
the static server would answer ``/profile`` with a 307 to ``/profile/`` — one
more round trip after every login and on every typed address.  This rewrites
the request path of a known page (``routes.pages()``) to its folder instead;
the browser keeps the address it asked for and React Router matches both.
``/login`` (a name people type) is sent to the login window.
"""

from __future__ import annotations

import functools

from starlette.types import Receive, Scope, Send

from lkk_app import routes
from lkk_app.web.asgi.common import Middleware


@functools.cache
def _page_paths() -> frozenset[str]:
    return frozenset(page.path for page in routes.pages() if page.path.startswith("/") and page.path != "/")


def folder_of(path: str) -> str | None:
    """``/profile`` → ``/profile/`` for a page of the cabinet, else ``None``."""
    return path + "/" if path in _page_paths() else None


class PagePaths(Middleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") in ("GET", "HEAD"):
            if scope.get("path", "").rstrip("/") == routes.LOGIN_ALIAS:
                # «/login» is the login window too (people type it).
                query = scope.get("query_string", b"")
                location = routes.LOGIN.encode() + (b"?" + query if query else b"")
                await send({"type": "http.response.start", "status": 307,
                            "headers": [(b"location", location), (b"content-length", b"0")]})
                await send({"type": "http.response.body", "body": b""})
                return
            folder = folder_of(scope.get("path", ""))
            if folder is not None:
                scope = {**scope, "path": folder, "raw_path": folder.encode("ascii")}
        await self.app(scope, receive, send)
