"""The demo billing served through the billing HTTP API (docs/billing-api.yaml).

    python -m lkk_app.billing.reference_server --port 8900 [--host 127.0.0.1]
        [--db sqlite:///var/demo-billing.db] [--token T] [--today 2026-12-04]

For integrators (the contract working end to end) and for the contract tests
of the HTTP adapter.  The demo tables are created and seeded (relative to
``--today``) when empty.  Served by granian, or uvicorn when only it is there.
"""

from __future__ import annotations

import argparse
import hmac
import importlib.util
import json
import os
import secrets
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any, TypeVar

from sqlmodel import Session, SQLModel
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lkk_app.billing import wire
from lkk_app.billing.adapters.demo import DemoBilling, ensure_seeded
from lkk_app.billing.adapters.demo_tables import DEMO_TABLES
from lkk_app.billing.gateway import BillingRejected, BillingUnavailable
from lkk_app.billing.types import ReadingsSubmission

MAX_BODY = 16 * 1024
MAX_READINGS_BODY = 1024 * 1024  # 5 000 entries
MAX_FIELD = 64
# Environment handed from the command line to the server's worker process.
ENV_DB, ENV_TOKEN, ENV_SUPPLIER = "LKK_REFERENCE_DB", "LKK_REFERENCE_TOKEN", "LKK_REFERENCE_SUPPLIER"
DEFAULT_SUPPLIER = "ГП Демо-Энергосбыт"

Handler = Callable[[Request, DemoBilling], Awaitable[Any]]
_STATUS = {"not_found": 404, "contract.not_found": 404, "idempotency.conflict": 409}


def error(code: str, status: int, params: dict[str, Any] | None = None) -> JSONResponse:
    return JSONResponse({"code": code, "params": params or {}}, status_code=status)


T = TypeVar("T")


class _NotFound(Exception):
    """The record asked for does not exist (404 ``not_found``)."""


def _found(record: T | None) -> T:
    if record is None:
        raise _NotFound
    return record


def _field(body: dict[str, Any], name: str, *, nullable: bool = False) -> str | None:
    value = body.get(name)
    if value is None and nullable:
        return None
    if not isinstance(value, str) or len(value) > MAX_FIELD:
        raise BillingRejected("request.invalid", {"field": name})
    return value


async def _json_body(request: Request, limit: int = MAX_BODY) -> dict[str, Any]:
    raw = b""
    async for chunk in request.stream():  # stop reading past the limit
        raw += chunk
        if len(raw) > limit:
            raise BillingRejected("request.too_large", {"max": limit})
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise BillingRejected("request.invalid", {"field": "body"})
    return body


# ---------------------------------------------------------------------- handlers


async def health(request: Request, billing: DemoBilling) -> Any:
    return await billing.health()


async def lookup(request: Request, billing: DemoBilling) -> Any:
    body = await _json_body(request)
    inn = _field(body, "inn")
    kpp = _field(body, "kpp", nullable=True)
    number = _field(body, "number")
    return _found(await billing.find_contract(inn or "", kpp, number or ""))


async def organisation(request: Request, billing: DemoBilling) -> Any:
    return _found(await billing.get_organisation(request.path_params["key"]))


async def organisation_contracts(request: Request, billing: DemoBilling) -> Any:
    key = request.path_params["key"]
    _found(await billing.get_organisation(key))
    return {"items": await billing.list_contracts(key)}


async def contract(request: Request, billing: DemoBilling) -> Any:
    return _found(await billing.get_contract(request.path_params["key"]))


async def changes(request: Request, billing: DemoBilling) -> Any:
    raw_limit = request.query_params.get("limit", "100")
    if not (raw_limit.isascii() and raw_limit.isdigit() and len(raw_limit) <= 6):
        raise BillingRejected("changes.bad_limit", {"max": 1000})
    kind: Any = request.path_params["kind"]
    page = await billing.changes(kind, request.query_params.get("cursor"), int(raw_limit))
    return {"items": page.rows, "cursor": page.cursor, "has_more": page.has_more}


async def binding(request: Request, billing: DemoBilling) -> Any:
    key = request.headers.get("idempotency-key", "")
    if not key:
        raise BillingRejected("request.idempotency_key_required")
    body = await _json_body(request)
    if not isinstance(body.get("bound"), bool):
        raise BillingRejected("request.invalid", {"field": "bound"})
    return await billing.notify_binding(request.path_params["key"], body["bound"], key)


async def readings(request: Request, billing: DemoBilling) -> Any:
    key = request.headers.get("idempotency-key", "")
    if not key:
        raise BillingRejected("request.idempotency_key_required")
    body = await _json_body(request, MAX_READINGS_BODY)
    try:
        submission = wire.decode(ReadingsSubmission, {**body, "contract_key": request.path_params["key"]})
    except wire.WireError:
        raise BillingRejected("request.invalid", {"field": "body"}) from None
    return await billing.submit_readings(submission, key)


async def reconciliation(request: Request, billing: DemoBilling) -> Any:
    key = request.headers.get("idempotency-key", "")
    if not key:
        raise BillingRejected("request.idempotency_key_required")
    body = await _json_body(request)
    try:
        period_from = wire.decode(date, body.get("period_from"))
        period_to = wire.decode(date, body.get("period_to"))
    except wire.WireError:
        raise BillingRejected("request.invalid", {"field": "period"}) from None
    return await billing.request_reconciliation(request.path_params["key"], period_from, period_to, key)


# ---------------------------------------------------------------------- app

ROUTES: tuple[tuple[str, str, Handler], ...] = (
    ("GET", "/v1/health", health),
    ("POST", "/v1/contracts/lookup", lookup),
    ("GET", "/v1/organisations/{key}", organisation),
    ("GET", "/v1/organisations/{key}/contracts", organisation_contracts),
    ("GET", "/v1/contracts/{key}", contract),
    ("GET", "/v1/changes/{kind}", changes),
    ("POST", "/v1/contracts/{key}/binding", binding),
    ("POST", "/v1/contracts/{key}/readings", readings),
    ("POST", "/v1/contracts/{key}/reconciliation", reconciliation),
)


def _endpoint(handler: Handler, billing: DemoBilling, token: bytes) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        given = request.headers.get("authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token):
            response = error("auth.invalid_token", 401)
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
        try:
            result = await handler(request, billing)
        except _NotFound:
            return error("not_found", 404)
        except BillingRejected as exc:
            return error(exc.code, _STATUS.get(exc.code, 400), exc.params)
        except BillingUnavailable as exc:
            return error("unavailable", 503, {"reason": exc.reason})
        return JSONResponse(wire.encode(result))

    return endpoint


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    code = {404: "route.not_found", 405: "route.method_not_allowed"}.get(status, "server.error")
    return error(code, status)


def create_app(billing: DemoBilling, token: str) -> Starlette:
    """The API over ``billing``; every request needs ``Authorization: Bearer <token>``."""
    if not token:
        raise ValueError("the reference server needs a token")
    secret = token.encode()
    routes = [Route(path, _endpoint(handler, billing, secret), methods=[method])
              for method, path, handler in ROUTES]
    return Starlette(routes=routes, exception_handlers={HTTPException: _http_error})


def app_from_environment() -> Starlette:
    """The app for a server worker, configured by :func:`main` through the environment."""
    from lkk_app.db import make_engine

    billing = DemoBilling(make_engine(os.environ[ENV_DB]),
                          supplier=os.environ.get(ENV_SUPPLIER) or DEFAULT_SUPPLIER, owns_engine=True)
    return create_app(billing, os.environ[ENV_TOKEN])


def prepare_database(url: str, today: date) -> None:
    """Create the demo tables where missing and seed them when empty."""
    from lkk_app.db import make_engine

    engine = make_engine(url)
    try:
        tables = [SQLModel.metadata.tables[t.__tablename__] for t in DEMO_TABLES]
        SQLModel.metadata.create_all(engine, tables=tables)
        with Session(engine) as db:
            ensure_seeded(db, today)
            db.commit()
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lkk_app.billing.reference_server",
                                     description="The demo billing over the billing HTTP API.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--db", help="database URL (default: a new SQLite file in a temporary folder)")
    parser.add_argument("--token", help="bearer token (default: LKK_BILLING_TOKEN, else a random one)")
    parser.add_argument("--today", type=date.fromisoformat, default=None,
                        help="the day the demo data is counted from (YYYY-MM-DD; default: today)")
    parser.add_argument("--supplier", default=DEFAULT_SUPPLIER, help="the supplier's name")
    args = parser.parse_args(argv)

    url = args.db or f"sqlite:///{tempfile.mkdtemp(prefix='demo-billing-')}/billing.db"
    token = args.token or os.environ.get("LKK_BILLING_TOKEN", "").strip()
    if not token:
        token = secrets.token_urlsafe(24)
        print(f"token: {token}", flush=True)
    prepare_database(url, args.today or date.today())
    os.environ.update({ENV_DB: url, ENV_TOKEN: token, ENV_SUPPLIER: args.supplier})
    print(f"billing API on http://{args.host}:{args.port}/v1", flush=True)
    serve(args.host, args.port)
    return 0


def serve(host: str, port: int) -> None:
    target = f"{__name__ if __name__ != '__main__' else 'lkk_app.billing.reference_server'}:app_from_environment"
    if importlib.util.find_spec("granian") is not None:
        from granian import Granian
        from granian.constants import Interfaces

        Granian(target, address=host, port=port, interface=Interfaces.ASGI, factory=True,
                workers=1, log_access=False).serve()
        return
    import uvicorn

    uvicorn.run(target, host=host, port=port, factory=True, log_level="warning")


if __name__ == "__main__":
    sys.exit(main())
