"""A real billing system over HTTP/JSON (docs/billing-api.yaml), with httpx.

Every request carries ``Authorization: Bearer <token>``; every POST an
``Idempotency-Key``.  GETs are retried (2 more attempts, 0.2 s then 0.6 s)
on a connection error, a timeout or a 5xx; POSTs never are (the job queue
retries them with the same key).  Errors: connection, timeout, 5xx, 401/403,
429 or an unreadable answer → :class:`BillingUnavailable`; another 4xx with
``{"code": …, "params": …}`` → :class:`BillingRejected`.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import date
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from lkk_app.billing import types, wire
from lkk_app.billing.gateway import BillingRejected, BillingUnavailable
from lkk_app.billing.types import Ack, ChangeKind, Changes, Contract, ContractMatch, Health, Organisation

T = TypeVar("T")
RETRY_DELAYS = (0.2, 0.6)  # seconds before the 2nd and the 3rd attempt of a GET
_NOT_FOUND = object()


class HttpBilling:
    """:class:`~lkk_app.billing.gateway.BillingGateway` over the billing HTTP API."""

    def __init__(self, base_url: str, token: str, *, connect_timeout: float = 3,
                 read_timeout: float = 10, transport: httpx.AsyncBaseTransport | None = None,
                 retry_delays: tuple[float, ...] = RETRY_DELAYS):
        timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/v1", timeout=timeout, transport=transport,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            follow_redirects=False, trust_env=False,
        )
        self._retry_delays = retry_delays

    # ------------------------------------------------------------------ transport

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        for delay in (*self._retry_delays, None):
            try:
                return await self._send("GET", path, params=params)
            except _Transient:
                if delay is None:
                    raise
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _post(self, path: str, body: dict[str, Any], idempotency_key: str) -> Any:
        return await self._send("POST", path, json=body, headers={"Idempotency-Key": idempotency_key})

    async def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self._client.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise _unavailable("timeout", retry=True) from exc
        except httpx.TransportError as exc:
            raise _unavailable("connect", retry=True) from exc
        status = response.status_code
        if status >= 500:
            raise _unavailable("server_error", retry=True)
        if status in (401, 403):
            raise _unavailable("unauthorized")
        if status == 429:
            raise _unavailable("rate_limited")
        try:
            body = response.json()
        except ValueError:
            body = None
        if 400 <= status < 500:
            if status == 404 and isinstance(body, dict) and body.get("code") == "not_found":
                return _NOT_FOUND
            raise _rejected(status, body)
        if status != 200 or body is None:
            raise _unavailable("bad_response")
        return body

    # ------------------------------------------------------------------ gateway

    async def find_contract(self, inn: str, kpp: str | None, number: str) -> ContractMatch | None:
        body = await self._send("POST", "/contracts/lookup",
                                json={"inn": inn, "kpp": kpp, "number": number},
                                headers={"Idempotency-Key": secrets.token_urlsafe(16)})
        return None if body is _NOT_FOUND else _decode(ContractMatch, body)

    async def get_organisation(self, key: str) -> Organisation | None:
        body = await self._get(f"/organisations/{_segment(key)}")
        return None if body is _NOT_FOUND else _decode(Organisation, body)

    async def list_contracts(self, organisation_key: str) -> tuple[Contract, ...]:
        body = await self._get(f"/organisations/{_segment(organisation_key)}/contracts")
        if body is _NOT_FOUND:
            return ()
        return tuple(_decode(Contract, item) for item in _items(body))

    async def get_contract(self, key: str) -> Contract | None:
        body = await self._get(f"/contracts/{_segment(key)}")
        return None if body is _NOT_FOUND else _decode(Contract, body)

    async def changes(self, kind: ChangeKind, cursor: str | None, limit: int = 100) -> Changes:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        body = await self._get(f"/changes/{_segment(str(kind))}", params)
        if body is _NOT_FOUND or not isinstance(body, dict):
            raise _unavailable("bad_response")
        record = types.CHANGE_RECORDS[ChangeKind(kind)]
        rows: tuple[object, ...] = tuple(_decode(record, item) for item in _items(body))
        cursor_out, more = body.get("cursor"), body.get("has_more")
        if not isinstance(cursor_out, str) or not isinstance(more, bool):
            raise _unavailable("bad_response")
        return Changes(rows=rows, cursor=cursor_out, has_more=more)

    async def notify_binding(self, contract_key: str, bound: bool, idempotency_key: str) -> Ack:
        body = await self._post(f"/contracts/{_segment(contract_key)}/binding", {"bound": bound},
                                idempotency_key)
        if body is _NOT_FOUND:
            raise BillingRejected("contract.not_found", {"contract": contract_key[:40]})
        return _decode(Ack, body)

    async def submit_readings(self, submission: types.ReadingsSubmission, idempotency_key: str) -> types.ReadingsAck:
        body = wire.encode(submission)
        contract_key = body.pop("contract_key")
        answer = await self._post(f"/contracts/{_segment(contract_key)}/readings", body, idempotency_key)
        if answer is _NOT_FOUND:
            raise BillingRejected("contract.not_found", {"contract": contract_key[:40]})
        return _decode(types.ReadingsAck, answer)

    async def request_reconciliation(self, contract_key: str, period_from: date, period_to: date,
                                     idempotency_key: str) -> Ack:
        body = {"period_from": period_from.isoformat(), "period_to": period_to.isoformat()}
        answer = await self._post(f"/contracts/{_segment(contract_key)}/reconciliation", body, idempotency_key)
        if answer is _NOT_FOUND:
            raise BillingRejected("contract.not_found", {"contract": contract_key[:40]})
        return _decode(Ack, answer)

    async def health(self) -> Health:
        body = await self._get("/health")
        if body is _NOT_FOUND:
            raise _unavailable("bad_response")
        return _decode(Health, body)

    async def aclose(self) -> None:
        await self._client.aclose()


class _Transient(BillingUnavailable):
    """Unavailable in a way that a repeated GET may cure."""


def _unavailable(reason: str, *, retry: bool = False) -> BillingUnavailable:
    return _Transient(reason) if retry else BillingUnavailable(reason)


def _rejected(status: int, body: Any) -> BillingRejected:
    if isinstance(body, dict) and isinstance(body.get("code"), str) and body["code"]:
        params = body.get("params") or {}
        if isinstance(params, dict):
            clean = {str(k): v for k, v in params.items() if isinstance(v, str | int) and not isinstance(v, bool)}
            return BillingRejected(body["code"][:100], clean)
    return BillingRejected(f"http.{status}")


def _segment(value: str) -> str:
    return quote(value, safe="")


def _items(body: Any) -> list[Any]:
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise _unavailable("bad_response")
    return items


def _decode(cls: type[T], body: Any) -> T:
    try:
        return wire.decode(cls, body)
    except wire.WireError as exc:
        raise _unavailable("bad_response") from exc
