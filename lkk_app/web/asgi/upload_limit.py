"""The size of a file upload (``/_upload``, Reflex's rx.upload): a request
whose ``Content-Length`` is over the limit, or that has none, is refused
before anything is read; one that sends more than it announced is cut off.
Only the readings template is uploaded (2 MiB at most), so the limit is small."""

from __future__ import annotations

import logging

from starlette.types import Message, Receive, Scope, Send

from lkk_app import routes
from lkk_app.web.asgi.common import Middleware, header, refuse

log = logging.getLogger("lkk.security")

MAX_UPLOAD_BODY = 2 * 1024 * 1024 + 64 * 1024  # the file and the multipart framing


class UploadLimit(Middleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "") != routes.UPLOAD:
            await self.app(scope, receive, send)
            return
        raw = header(scope, b"content-length") or ""
        if not raw.isascii() or not raw.isdigit():  # "²" is a digit to isdigit(), not to int()
            await refuse(send, 411, b"Length Required")
            return
        if len(raw) > 18 or int(raw) > MAX_UPLOAD_BODY:  # int() refuses over 4300 digits
            log.warning("upload of %s bytes refused", raw[:12])
            await refuse(send, 413, b"Payload Too Large")
            return
        received = 0

        async def bounded() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > int(raw):
                    return {"type": "http.disconnect"}
            return message

        await self.app(scope, bounded, send)
