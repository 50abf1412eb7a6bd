"""The HTTP adapter's transport rules: token, idempotency keys, timeouts,
retries for GETs only, and how answers map to results and errors.
(A scripted transport answers; the contract tests use a real server.)"""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from lkk_app.billing.adapters.http import RETRY_DELAYS, HttpBilling
from lkk_app.billing.gateway import BillingRejected, BillingUnavailable
from lkk_app.billing.types import ChangeKind

pytestmark = pytest.mark.asyncio
ACK = {"idempotency_key": "key-0123456789", "reference": "N-1", "received_at": "2026-11-20T09:30:00Z"}


class Script:
    """Answers requests in turn; remembers what came."""

    def __init__(self, *answers: httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]):
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer(request) if callable(answer) else answer


def gateway(script: Script, **kw) -> HttpBilling:
    return HttpBilling("https://billing.example/api", "tok-123", transport=httpx.MockTransport(script),
                       retry_delays=(0, 0), **kw)


def error(status: int, body: object) -> httpx.Response:
    return httpx.Response(status, json=body)


async def test_requests_carry_the_token_and_the_version_prefix():
    script = Script(error(404, {"code": "not_found", "params": {}}))
    gw = gateway(script)
    assert await gw.get_contract("ctr/1 2") is None
    (request,) = script.requests
    assert request.headers["authorization"] == "Bearer tok-123"
    assert request.url == "https://billing.example/api/v1/contracts/ctr%2F1%202"
    await gw.aclose()


async def test_timeouts_come_from_the_settings_and_default_to_3_and_10_seconds():
    gw = HttpBilling("https://billing.example", "t")
    assert (gw._client.timeout.connect, gw._client.timeout.read) == (3, 10)
    gw = HttpBilling("https://billing.example", "t", connect_timeout=1, read_timeout=4)
    assert (gw._client.timeout.connect, gw._client.timeout.read) == (1, 4)
    assert RETRY_DELAYS == (0.2, 0.6)


@pytest.mark.parametrize("failure,reason", [
    (httpx.Response(503), "server_error"),
    (httpx.ConnectError("refused"), "connect"),
    (httpx.ReadTimeout("slow"), "timeout"),
])
async def test_a_get_is_tried_three_times_then_unavailable(failure, reason):
    script = Script(failure)
    with pytest.raises(BillingUnavailable) as caught:
        await gateway(script).get_contract("ctr-1")
    assert caught.value.reason == reason and len(script.requests) == 3


async def test_a_get_that_succeeds_on_the_second_try_returns_its_answer():
    script = Script(httpx.Response(502), error(404, {"code": "not_found", "params": {}}))
    assert await gateway(script).get_organisation("org-1") is None
    assert len(script.requests) == 2


@pytest.mark.parametrize("failure", [httpx.Response(503), httpx.ConnectError("x"), httpx.ReadTimeout("x")])
async def test_a_post_is_never_retried_and_carries_the_idempotency_key(failure):
    script = Script(failure)
    with pytest.raises(BillingUnavailable):
        await gateway(script).notify_binding("ctr-1", True, "key-0123456789")
    (request,) = script.requests
    assert request.method == "POST" and request.headers["idempotency-key"] == "key-0123456789"
    assert json.loads(request.content) == {"bound": True}


async def test_the_lookup_is_a_post_with_its_own_key_and_a_miss_is_none():
    script = Script(error(404, {"code": "not_found", "params": {}}))
    gw = gateway(script)
    assert await gw.find_contract("7701000001", None, "Д-1") is None
    assert await gw.find_contract("7701000001", None, "Д-1") is None
    first, second = script.requests
    assert json.loads(first.content) == {"inn": "7701000001", "kpp": None, "number": "Д-1"}
    assert first.headers["idempotency-key"] != second.headers["idempotency-key"]


@pytest.mark.parametrize("status", [401, 403, 429])
async def test_credentials_and_throttling_are_unavailable_without_retry(status):
    script = Script(error(status, {"code": "auth.invalid_token", "params": {}}))
    with pytest.raises(BillingUnavailable):
        await gateway(script).health()
    assert len(script.requests) == 1


async def test_a_4xx_with_a_code_is_rejected_with_its_params():
    script = Script(error(409, {"code": "idempotency.conflict", "params": {"n": 1, "s": "x", "bad": [1], "b": True}}))
    with pytest.raises(BillingRejected) as caught:
        await gateway(script).notify_binding("ctr-1", True, "key-0123456789")
    assert (caught.value.code, caught.value.params) == ("idempotency.conflict", {"n": 1, "s": "x"})


@pytest.mark.parametrize("response", [httpx.Response(400, text="<html>bad</html>"),
                                      error(422, {"message": "no code"}), error(404, ["x"])])
async def test_a_4xx_without_a_code_is_rejected_by_status(response):
    with pytest.raises(BillingRejected) as caught:
        await gateway(Script(response)).get_contract("ctr-1")
    assert caught.value.code == f"http.{response.status_code}"


@pytest.mark.parametrize("response", [httpx.Response(200, text="not json"), error(200, {"key": 1}),
                                      httpx.Response(204), httpx.Response(302, headers={"location": "/x"})])
async def test_an_unreadable_answer_is_unavailable(response):
    with pytest.raises(BillingUnavailable) as caught:
        await gateway(Script(response)).get_contract("ctr-1")
    assert caught.value.reason == "bad_response"


async def test_changes_send_cursor_and_limit_and_read_the_page():
    script = Script(error(200, {"items": [], "cursor": "42", "has_more": False}))
    page = await gateway(script).changes(ChangeKind.POINTS, "41", 7)
    assert (page.rows, page.cursor, page.has_more) == ((), "42", False)
    (request,) = script.requests
    assert request.url.path == "/api/v1/changes/points"
    assert dict(request.url.params) == {"cursor": "41", "limit": "7"}


async def test_an_ack_is_decoded():
    ack = await gateway(Script(error(200, ACK))).notify_binding("ctr-1", False, "key-0123456789")
    assert ack.reference == "N-1" and ack.received_at.isoformat() == "2026-11-20T09:30:00"
