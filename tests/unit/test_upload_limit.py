"""File uploads (``/_upload``) in process: the size limit of
lkk_app/web/asgi/upload_limit.py and the binding of the upload's
``Reflex-Client-Token`` header to the session cookie
(lkk_app/web/asgi/state_token.py), each middleware driven directly around a
tiny app that records what reaches it."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid

import pytest

from lkk_app import routes
from lkk_app.web.asgi.state_token import StateTokenBinding, bound_state_token, rebind_upload_token
from lkk_app.web.asgi.upload_limit import MAX_UPLOAD_BODY, UploadLimit


@dataclasses.dataclass
class Recorder:
    """An inner app that reads the whole body, as Starlette's form parser does, and answers 200."""

    scopes: list[dict] = dataclasses.field(default_factory=list)
    messages: list[dict] = dataclasses.field(default_factory=list)
    receives: list = dataclasses.field(default_factory=list)

    async def __call__(self, scope, receive, send):
        self.scopes.append(scope)
        self.receives.append(receive)
        if scope["type"] == "http":
            while True:
                message = await receive()
                self.messages.append(message)
                if message["type"] != "http.request" or not message.get("more_body", False):
                    break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages if m["type"] == "http.request")


def _scope(path: str = routes.UPLOAD, headers: list[tuple[bytes, bytes]] = (), kind: str = "http",
           query: bytes = b"") -> dict:
    return {"type": kind, "method": "POST", "path": path, "headers": list(headers), "query_string": query,
            "scheme": "http", "server": ("127.0.0.1", 3000)}


def _chunks(*parts: bytes) -> list[dict]:
    return [{"type": "http.request", "body": part, "more_body": n < len(parts) - 1}
            for n, part in enumerate(parts)]


def _upload(length: str | None, chunks: list[dict] | None = None, *, path: str = routes.UPLOAD,
            kind: str = "http") -> tuple[Recorder, list[dict], int]:
    """Send a request through :class:`UploadLimit`: (the inner app, what was sent back,
    how many messages were received from the client)."""
    inner = Recorder()
    pending = list(chunks if chunks is not None else _chunks(b""))
    received = 0

    async def receive():
        nonlocal received
        received += 1
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    headers = [(b"host", b"localhost:3000")]
    if length is not None:
        headers.append((b"content-length", length.encode("latin-1")))
    asyncio.run(UploadLimit(inner)(_scope(path, headers, kind), receive, send))
    return inner, sent, received


def _status(sent: list[dict]) -> int:
    return sent[0]["status"]


# --------------------------------------------------------------------------- the size limit


def test_the_limit_fits_the_largest_readings_file_and_its_framing():
    from lkk_app.billing.readings import excel

    assert excel.MAX_FILE < MAX_UPLOAD_BODY <= excel.MAX_FILE + 64 * 1024


@pytest.mark.parametrize("length", [None, "", "abc", "-1", "+5", " 10", "10 ", "1e3", "0x10", "1.5", "10, 10",
                                    "\xb2", "\xb9\xb2"])
def test_an_upload_without_a_plain_length_is_refused_unread(length):
    inner, sent, received = _upload(length)
    assert _status(sent) == 411 and sent[1]["body"] == b"Length Required"
    assert (inner.scopes, received) == ([], 0)


@pytest.mark.parametrize("length", [str(MAX_UPLOAD_BODY + 1), str(10 * 1024 * 1024), "9" * 30, "9" * 5000])
def test_an_upload_over_the_limit_is_refused_unread(length):
    inner, sent, received = _upload(length, _chunks(b"x" * 10))
    assert _status(sent) == 413 and sent[1]["body"] == b"Payload Too Large"
    assert dict(sent[0]["headers"])[b"content-length"] == b"17"
    assert (inner.scopes, received) == ([], 0)


def test_an_upload_within_the_limit_passes_with_its_body():
    parts = (b"--boundary\r\n", b"x" * 1000, b"\r\n--boundary--\r\n")
    length = sum(map(len, parts))
    inner, sent, received = _upload(str(length), _chunks(*parts))
    assert _status(sent) == 200 and sent[1]["body"] == b"ok"
    assert inner.body == b"".join(parts) and received == 3
    assert [m["type"] for m in inner.messages] == ["http.request"] * 3


def test_an_upload_of_exactly_the_limit_passes():
    body = b"y" * MAX_UPLOAD_BODY
    inner, sent, _ = _upload(str(MAX_UPLOAD_BODY), _chunks(body[:100_000], body[100_000:]))
    assert _status(sent) == 200 and inner.body == body


def test_a_body_longer_than_announced_is_cut_off():
    inner, _, received = _upload("10", _chunks(b"123456", b"7890", b"EXTRA", b"MORE"))
    assert received == 3  # the third message is not handed on
    assert [m["type"] for m in inner.messages] == ["http.request", "http.request", "http.disconnect"]
    assert inner.body == b"1234567890"  # what was announced, and nothing after
    # One byte over is enough.
    inner, _, _ = _upload("10", _chunks(b"1234567890", b"X"))
    assert [m["type"] for m in inner.messages] == ["http.request", "http.disconnect"]
    inner, _, _ = _upload("5", _chunks(b"x" * 1_000_000))
    assert [m["type"] for m in inner.messages] == ["http.disconnect"] and inner.body == b""
    # A body shorter than announced is the app's business: it sees the client go.
    inner, _, _ = _upload("10", [{"type": "http.request", "body": b"abc", "more_body": True}])
    assert inner.body == b"abc" and inner.messages[-1]["type"] == "http.disconnect"


def test_other_paths_and_websockets_are_left_alone():
    for path in ("/", "/readings", routes.UPLOAD + "/", "/_upload2", routes.EVENT):
        inner, sent, received = _upload(None, _chunks(b"z" * 10), path=path)
        assert (_status(sent), inner.body, received) == (200, b"z" * 10, 1), path
        inner, sent, _ = _upload(str(MAX_UPLOAD_BODY * 10), _chunks(b"z" * 10), path=path)
        assert _status(sent) == 200 and inner.body == b"z" * 10, path
    # The request's own receive is handed on, not a wrapper.
    inner = Recorder()

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        pass

    asyncio.run(UploadLimit(inner)(_scope("/x"), receive, send))
    assert inner.receives == [receive]
    ws = Recorder()
    asyncio.run(UploadLimit(ws)(_scope(routes.UPLOAD, kind="websocket"), receive, send))
    assert ws.receives == [receive]


# --------------------------------------------------------------------------- the token of an upload


def _cookie(settings, value: str) -> tuple[bytes, bytes]:
    return b"cookie", f"theme=dark; {settings.session_cookie_name}={value}; other=1".encode("latin-1")


def _through_binding(settings, scope: dict) -> dict:
    inner = Recorder()

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        pass

    asyncio.run(StateTokenBinding(inner, settings)(scope, receive, send))
    [seen] = inner.scopes
    return seen


def _token_of(scope: dict) -> str:
    [value] = [v.decode("latin-1") for k, v in scope["headers"] if k.lower() == b"reflex-client-token"]
    return value


def test_the_upload_token_is_bound_to_the_session_cookie(settings):
    token = str(uuid.uuid4())
    headers = [(b"host", b"localhost:3000"), (b"reflex-client-token", token.encode()), _cookie(settings, "sess-a"),
               (b"content-length", b"5")]
    seen = _through_binding(settings, _scope(headers=headers))
    bound = bound_state_token(token, "sess-a", settings.secret_key)
    assert _token_of(seen) == bound != token
    assert uuid.UUID(bound).version == 4 and str(uuid.UUID(bound)) == bound
    # Every other header is kept as it was, in its place.
    assert [k for k, _ in seen["headers"]] == [k for k, _ in headers]
    assert [h for h in seen["headers"] if h[0] != b"reflex-client-token"] == [
        h for h in headers if h[0] != b"reflex-client-token"]
    # The same tab with the same cookie keeps its state.
    assert _token_of(_through_binding(settings, _scope(headers=headers))) == bound


def test_another_session_or_none_gets_another_state(settings):
    token = "0f8fad5b-d9cb-469f-a165-70867728950e"

    def bound_with(*cookie) -> str:
        headers = [(b"reflex-client-token", token.encode()), *cookie]
        return _token_of(_through_binding(settings, _scope(headers=headers)))

    a, b, none = bound_with(_cookie(settings, "sess-a")), bound_with(_cookie(settings, "sess-b")), bound_with()
    assert len({a, b, none, token}) == 4
    assert none == bound_state_token(token, "", settings.secret_key)
    assert bound_with((b"cookie", b"other=sess-a")) == none  # only the session cookie counts
    # Another secret key: another state.
    other = dataclasses.replace(settings, secret_key=b"another-secret-key-0123456789-abcdefghijk")
    assert bound_state_token(token, "sess-a", other.secret_key) != a


def test_the_header_is_found_whatever_its_case_and_the_scope_is_not_changed_in_place(settings):
    original = [(b"Reflex-Client-Token", b"tok"), _cookie(settings, "sess-a")]
    scope = _scope(headers=original)
    rebound = rebind_upload_token(scope, settings)
    assert rebound["headers"][0] == (b"Reflex-Client-Token",
                                     bound_state_token("tok", "sess-a", settings.secret_key).encode())
    assert scope["headers"] == original and scope["headers"][0][1] == b"tok"
    assert rebind_upload_token(_scope(headers=[_cookie(settings, "x")]), settings)["headers"] == [
        _cookie(settings, "x")]  # no token: nothing to bind


def test_the_token_header_elsewhere_is_left_alone(settings):
    headers = [(b"reflex-client-token", b"tok"), _cookie(settings, "sess-a")]
    for path in ("/", "/readings", routes.UPLOAD + "/", "/api/x"):
        assert _through_binding(settings, _scope(path, headers))["headers"] == headers, path
    assert _through_binding(settings, _scope(routes.UPLOAD, headers, kind="websocket"))["headers"] == headers
    # Reflex's event endpoint binds the token of its query string, not this header.
    seen = _through_binding(settings, _scope(routes.EVENT + "/", headers, query=b"EIO=4&token=tok"))
    assert seen["headers"] == headers
    bound = bound_state_token("tok", "sess-a", settings.secret_key)
    assert seen["query_string"] == f"EIO=4&token={bound}".encode()
