"""Which server process holds a websocket: with the Redis state manager (the
shape with several workers, ``LKK_WORKERS``) each one accepted is logged
with the worker's label (8 random hex digits made when the process starts
serving — not its pid or host name).  A tab talks to one process for as long
as its websocket lives; the log shows how tabs spread over the workers, and the
tests of that shape check both take part.  One worker has nothing to tell: no
line (nor one more line per connection for a flood to cause).
"""

from __future__ import annotations

import logging
import os
import secrets

from starlette.types import Message, Receive, Scope, Send

from lkk_app.web.asgi.common import Middleware

log = logging.getLogger("lkk.web")
_label: tuple[int, str] | None = None


def worker_label() -> str:
    """This process's label (a forked worker gets its own)."""
    global _label
    if _label is None or _label[0] != os.getpid():
        _label = (os.getpid(), secrets.token_hex(4))
    return _label[1]


class WorkerLabel(Middleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket" or not self.settings.redis_url:
            await self.app(scope, receive, send)
            return

        async def logged(message: Message) -> None:
            if message["type"] == "websocket.accept":
                log.info("websocket opened on worker %s", worker_label())
            await send(message)

        await self.app(scope, receive, logged)
