"""The documents' files: ``GET /files/document/<key>`` gives a document's PDF,
``GET /files/documents.zip?key=…&key=…`` several in one .zip.

Only for the session's user and only their organisation's documents: another
one's is «not found» (404), like one that does not exist.  The file goes with
its Russian name (``Content-Disposition`` with ``filename*``) and
``Cache-Control: no-store``.  Drawing a PDF is CPU work: it runs in the
bounded ``pdf`` pool, and a full pool answers 503 at once.
"""

from __future__ import annotations

from urllib.parse import quote

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from lkk_app import db as db_module
from lkk_app import routes
from lkk_app.auth.sessions import current_user
from lkk_app.billing import document_files, documents
from lkk_app.billing.binding import BindingError
from lkk_app.cpu_pools import PDF, PoolBusy
from lkk_app.i18n import t
from lkk_app.settings import get_settings
from lkk_app.web.http.base import no_store, redirect

ZIP_NAME_KEY = "documents.zip_name"


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback and the real name in UTF-8 (RFC 6266 / 5987)."""
    fallback = "".join(ch if (ch.isascii() and ch.isalnum()) or ch in "-_." else "_" for ch in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _file(request: Request, keys: list[str], one: bool) -> tuple[bytes, str] | None:
    """The user's PDF (or .zip) and its name; ``None`` without a session."""
    settings = get_settings()
    with Session(db_module.get_engine(), expire_on_commit=False) as db:
        me = current_user(db, request.cookies.get(settings.session_cookie_name, "")[:256])
        db.commit()  # the session's last_seen_at
        if me is None:
            return None
        if one:
            doc = documents.require_printable(db, me.id, keys)[0]
            return document_files.pdf_bytes(db, doc, settings), document_files.file_name(doc)
        docs = documents.require_printable(db, me.id, keys)
        return document_files.zip_bytes(db, docs, settings), t(ZIP_NAME_KEY, count=str(len(docs)))


async def _answer(request: Request, keys: list[str], *, one: bool, media_type: str) -> Response:
    try:
        found = await PDF.run(_file, request, keys, one)
    except BindingError:
        return no_store(PlainTextResponse(t("documents.file_not_found"), status_code=404))
    except PoolBusy:
        return no_store(PlainTextResponse(t("documents.busy"), status_code=503, headers={"Retry-After": "5"}))
    if found is None:
        # A session cookie that no longer opens a session: it has ended.
        ended = bool(request.cookies.get(get_settings().session_cookie_name, ""))
        return redirect(routes.login_then(routes.DOCUMENTS, ended=ended))
    content, name = found
    return no_store(Response(content, media_type=media_type, headers={
        "Content-Disposition": content_disposition(name), "X-Content-Type-Options": "nosniff",
        # The split shape: the pages' script fetches the file and names it.
        "Access-Control-Expose-Headers": "Content-Disposition"}))


async def document_file(request: Request) -> Response:
    key = str(request.path_params.get("key", ""))[:41]
    return await _answer(request, [key], one=True, media_type="application/pdf")


async def documents_zip(request: Request) -> Response:
    keys = [k[:41] for k in request.query_params.getlist("key")[:documents.ZIP_MAX + 1]]
    return await _answer(request, keys, one=False, media_type="application/zip")
