"""«Привязать договор» step by step: the lookup in billing, the code to the
e-mail of record, its confirmation (or a curator's binding code), the other
contracts offered, unbinding.

Each step is an ``async`` function: billing is asked first (never inside a
database transaction), then one short transaction in a worker thread records
the result.  Errors are :class:`~lkk_app.billing.binding.BindingError` codes
(``binding.*``, ``contract.not_found``, ``billing.unavailable``) or
:class:`~lkk_app.core.errors.FieldErrors`; a step that must be remembered even
when it fails (a wrong code, a lookup that matched nothing) is committed
before the error is raised.

Security (SECURITY.md, «Contract binding»): nothing says which part of a
lookup was wrong; the code goes only to the address billing holds; it lives
15 minutes and 5 wrong entries end the request; 3 requests per contract and 10
per user in 24 hours (letters resent included); only a keyed hash of the code
is stored, bound to its request.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

import sqlalchemy as sa
from sqlmodel import Session, col, select

from lkk_app import db as db_module
from lkk_app.auth import audit, ratelimit
from lkk_app.billing import binding, binding_rules, deliveries, store
from lkk_app.billing.binding import BindingError
from lkk_app.billing.binding_tables import ADMINISTRATOR, BindingRequest
from lkk_app.billing.gateway import BillingGateway, BillingUnavailable
from lkk_app.billing.types import ChangeKind, Contract, ContractMatch, ContractStatus, Organisation
from lkk_app.core import clock, tokens
from lkk_app.core.errors import Code, FieldErrors
from lkk_app.mail import outbox
from lkk_app.models import User
from lkk_app.settings import Settings, get_settings

T = TypeVar("T")

PENDING, DONE, ENDED, NOT_FOUND, ACCESS_ASKED, NO_EMAIL = (
    "pending", "done", "ended", "not_found", "access_asked", "no_email")


@dataclasses.dataclass(frozen=True, slots=True)
class CodeSent:
    """The code is on its way (or, without an e-mail of record, a curator's code is needed)."""

    request_id: int
    contract_number: str
    masked_email: str | None  # None: no e-mail of record — only a curator's code works
    expires_at: datetime
    resend_at: datetime | None


@dataclasses.dataclass(frozen=True, slots=True)
class AccessAsked:
    """The contract belongs to an organisation with an administrator: they were asked."""

    contract_number: str


@dataclasses.dataclass(frozen=True, slots=True)
class Bound:
    organisation_key: str
    organisation_name: str
    contract_numbers: tuple[str, ...]
    offered: tuple[Contract, ...]  # the organisation's other active contracts, not bound yet


# --------------------------------------------------------------------------- helpers


async def _in_db(fn: Callable[[Session], T], engine: sa.Engine | None) -> T:
    return await db_module.in_transaction(fn, engine)


def _user_bucket(user_id: int) -> str:
    return ratelimit.bucket_name("binding", "user", user_id)


def _contract_bucket(contract_key: str) -> str:
    return ratelimit.bucket_name("binding", "contract", contract_key)


def _refuse_over_limit(db: Session, bucket: str, limit: int, code: str) -> None:
    """Count one request in ``bucket``, or raise ``code`` with the moment it frees."""
    if ratelimit.hit(db, bucket, limit=limit, window=binding_rules.LIMIT_WINDOW):
        return
    until = ratelimit.free_at(db, bucket, limit=limit, window=binding_rules.LIMIT_WINDOW)
    raise BindingError(code, {"until": until or clock.utcnow()})


def code_hash(request_id: int, code: str, settings: Settings) -> str:
    message = f"binding-code\0{request_id}\0{code}".encode()
    return hmac.new(settings.secret_key, message, hashlib.sha256).hexdigest()


async def _ask(call) -> object:
    try:
        return await call
    except BillingUnavailable:
        raise BindingError("billing.unavailable") from None


def _audit(db: Session, user: User, event: str, result: str, detail: str) -> None:
    audit.record(db, event=event, result=result, user_id=user.id, login=user.login, detail=detail)


def _user(db: Session, user_id: int) -> User:
    user = db.get(User, user_id)
    if user is None:
        raise BindingError("contract.not_found")
    return user


def _send_code(db: Session, user: User, request: BindingRequest, match_number: str, organisation: str,
               settings: Settings) -> None:
    """Queue the code letter; the request keeps the keyed hash of the code the
    letter will carry (derived from the letter's seed)."""
    letter = outbox.queue_binding_code(db, user, recipient=request.email or "", contract=match_number,
                                       organisation=organisation, settings=settings)
    seed = outbox.letter_seed(letter, settings)
    if seed is None or request.id is None:  # pragma: no cover - a letter with a secret has a seed
        raise RuntimeError("a binding code letter without a seed")
    request.code_hash = code_hash(request.id, tokens.digits_from_seed(seed, binding_rules.CODE_DIGITS), settings)
    request.sent_at = clock.utcnow()
    request.expires_at = request.sent_at + binding_rules.CODE_LIFETIME
    db.add(request)
    db.flush()


def mint_binding_code(session: Session, user_id: int, *, letter_seed: bytes | None = None) -> str | None:
    """Secret minter of ``binding_code`` letters: the code the letter's seed
    gives, when a live request of this user still waits for exactly it
    (otherwise the letter is not wanted any more: ``None``)."""
    if letter_seed is None:
        return None
    settings = get_settings()
    code = tokens.digits_from_seed(letter_seed, binding_rules.CODE_DIGITS)
    now = clock.utcnow()
    waiting = session.exec(select(BindingRequest).where(
        BindingRequest.user_id == user_id, BindingRequest.status == PENDING,
        col(BindingRequest.expires_at) > now)).all()
    for request in waiting:
        if request.id is not None and request.code_hash and hmac.compare_digest(
                request.code_hash, code_hash(request.id, code, settings)):
            return code
    return None


# --------------------------------------------------------------------------- step 1: lookup


async def request_binding(gateway: BillingGateway, *, user_id: int, inn: str, kpp: str, number: str,
                          engine: sa.Engine | None = None, settings: Settings | None = None,
                          ) -> CodeSent | AccessAsked:
    """Look the contract up in billing and send the code to its e-mail of record."""
    settings = settings or get_settings()
    lookup, errors = binding_rules.check_lookup(inn, kpp, number)
    if lookup is None:
        raise FieldErrors({field: Code(code) for field, code in errors.items()})

    def reserve(db: Session) -> None:
        _user(db, user_id)
        _refuse_over_limit(db, _user_bucket(user_id), binding_rules.REQUESTS_PER_USER, "binding.user_limit")

    await _in_db(reserve, engine)
    match = await _ask(gateway.find_contract(lookup.inn, lookup.kpp, lookup.number))
    if match is not None and not isinstance(match, ContractMatch):  # pragma: no cover - a gateway's bug
        raise BindingError("billing.unavailable")

    def record(db: Session) -> CodeSent | AccessAsked | BindingError:
        user = _user(db, user_id)
        now = clock.utcnow()
        if match is None:
            db.add(BindingRequest(user_id=user_id, status=NOT_FOUND, created_at=now))
            _audit(db, user, audit.BINDING_REQUESTED, audit.FAIL, f"not found: {lookup.number}")
            return BindingError("binding.not_found")
        contract, organisation = match.contract, match.organisation
        try:
            _refuse_over_limit(db, _contract_bucket(contract.key), binding_rules.REQUESTS_PER_CONTRACT,
                               "binding.contract_limit")
        except BindingError as refused:
            _audit(db, user, audit.BINDING_REQUESTED, audit.REFUSED, f"contract limit: {contract.number}")
            return refused
        role = binding.role_in(db, user_id, organisation.key)
        already = db.get(binding.ContractBinding, contract.key)
        if already is not None and role is not None:
            return BindingError("binding.already_yours", {"contract": contract.number})
        admins = binding.administrators(db, organisation.key)
        if role != ADMINISTRATOR and (already is not None or admins):
            _ask_administrators(db, user, admins, contract, organisation, settings)
            db.add(BindingRequest(user_id=user_id, contract_key=contract.key, organisation_key=organisation.key,
                                  status=ACCESS_ASKED, created_at=now))
            _audit(db, user, audit.BINDING_ACCESS_REQUESTED, audit.OK, contract.number)
            return AccessAsked(contract.number)
        # One request waits at a time: a new lookup ends the user's older ones.
        db.execute(sa.update(BindingRequest).where(
            col(BindingRequest.user_id) == user_id, col(BindingRequest.status) == PENDING).values(status=ENDED))
        request = BindingRequest(user_id=user_id, contract_key=contract.key, organisation_key=organisation.key,
                                 email=match.email, status=PENDING, created_at=now,
                                 expires_at=now + binding_rules.CURATOR_WAIT)
        db.add(request)
        db.flush()
        if match.email:
            _send_code(db, user, request, contract.number, organisation.short_name, settings)
        _audit(db, user, audit.BINDING_REQUESTED, audit.OK,
               f"{contract.number}: {'code sent' if match.email else 'no e-mail of record'}")
        return _code_sent(request, contract.number)

    result = await _in_db(record, engine)
    if isinstance(result, BindingError):
        raise result
    return result


def _code_sent(request: BindingRequest, number: str) -> CodeSent:
    if request.id is None or request.expires_at is None:  # pragma: no cover - a stored request
        raise RuntimeError("an unsaved binding request")
    return CodeSent(request_id=request.id, contract_number=number,
                    masked_email=binding_rules.mask_email(request.email) if request.email else None,
                    expires_at=request.expires_at,
                    resend_at=binding_rules.can_resend(request.sent_at, clock.utcnow()) if request.email else None)


def _ask_administrators(db: Session, user: User, admins: Sequence[int], contract: Contract,
                        organisation: Organisation, settings: Settings) -> None:
    for admin_id in admins:
        admin = db.get(User, admin_id)
        if admin is not None and admin.id != user.id:
            outbox.queue_access_request(db, admin, requester=user, contract=contract.number,
                                        organisation=organisation.short_name, settings=settings)


def _pending_request(db: Session, user_id: int, request_id: object) -> BindingRequest:
    request = db.get(BindingRequest, request_id) if isinstance(request_id, int) else None
    if request is None or request.user_id != user_id or request.status != PENDING:
        raise BindingError("binding.request_ended")
    if request.expires_at is None or request.expires_at <= clock.utcnow():
        raise BindingError("binding.code_expired")
    return request


# --------------------------------------------------------------------------- resend


async def resend_code(gateway: BillingGateway, *, user_id: int, request_id: object,
                      engine: sa.Engine | None = None, settings: Settings | None = None) -> CodeSent:
    """A new code for a waiting request (after 60 s; counts against the limits)."""
    settings = settings or get_settings()

    def peek(db: Session) -> str:
        request = _pending_request(db, user_id, request_id)
        wait_until = binding_rules.can_resend(request.sent_at, clock.utcnow())
        if not request.email:
            raise BindingError("binding.no_email")
        if wait_until is not None:
            raise BindingError("binding.resend_wait", {"wait": wait_until - clock.utcnow()})
        return request.contract_key or ""

    contract_key = await _in_db(peek, engine)
    contract = await _ask(gateway.get_contract(contract_key))
    if not isinstance(contract, Contract):
        raise BindingError("binding.request_ended")
    organisation = await _ask(gateway.get_organisation(contract.organisation_key))
    name = organisation.short_name if isinstance(organisation, Organisation) else ""

    def send(db: Session) -> CodeSent | BindingError:
        request = _pending_request(db, user_id, request_id)
        user = _user(db, user_id)
        try:
            _refuse_over_limit(db, _user_bucket(user_id), binding_rules.REQUESTS_PER_USER, "binding.user_limit")
            _refuse_over_limit(db, _contract_bucket(contract_key), binding_rules.REQUESTS_PER_CONTRACT,
                               "binding.contract_limit")
        except BindingError as refused:
            return refused
        _send_code(db, user, request, contract.number, name, settings)
        _audit(db, user, audit.BINDING_REQUESTED, audit.OK, f"{contract.number}: code sent again")
        return _code_sent(request, contract.number)

    result = await _in_db(send, engine)
    if isinstance(result, BindingError):
        raise result
    return result


# --------------------------------------------------------------------------- step 2: the code


async def confirm_binding(gateway: BillingGateway, *, user_id: int, request_id: object, code: str,
                          engine: sa.Engine | None = None, settings: Settings | None = None) -> Bound:
    """Check the code (or a curator's binding code) and bind the contract."""
    settings = settings or get_settings()
    entered = "".join((code or "").split())
    if not entered:
        raise FieldErrors({"code": Code("binding.code_required")})

    def target(db: Session) -> tuple[str, str]:
        request = _pending_request(db, user_id, request_id)
        return request.contract_key or "", request.organisation_key or ""

    contract_key, organisation_key = await _in_db(target, engine)
    organisation = await _ask(gateway.get_organisation(organisation_key))
    contracts = await _ask(gateway.list_contracts(organisation_key))
    if not isinstance(organisation, Organisation) or not isinstance(contracts, tuple):
        raise BindingError("binding.request_ended")
    mine = next((c for c in contracts if c.key == contract_key), None)
    if mine is None:
        raise BindingError("binding.request_ended")

    def check(db: Session) -> Bound | BindingError:
        request = _pending_request(db, user_id, request_id)
        user = _user(db, user_id)
        good = False
        if binding.looks_like_curator_code(entered):
            good = binding.spend_curator_code(db, contract_key, entered, user_id, settings)
        elif entered.isascii() and entered.isdigit() and len(entered) == binding_rules.CODE_DIGITS \
                and request.code_hash and request.id is not None:
            good = hmac.compare_digest(request.code_hash, code_hash(request.id, entered, settings))
        if not good:
            request.wrong_attempts += 1
            left = binding_rules.MAX_WRONG_CODES - request.wrong_attempts
            if left <= 0:
                request.status = ENDED
            db.add(request)
            _audit(db, user, audit.BINDING_FAILED, audit.FAIL, f"{mine.number}: wrong code")
            return BindingError("binding.code_ended") if left <= 0 else BindingError(
                "binding.code_wrong", {"left": left})
        store.store_records(db, ChangeKind.ORGANISATIONS, [organisation], clock.utcnow())
        store.store_records(db, ChangeKind.CONTRACTS, contracts, clock.utcnow())
        try:
            bound = binding.bind(db, user_id=user_id, organisation_key=organisation_key,
                                 contract_keys=[contract_key])
        except BindingError as refused:
            request.status = ENDED
            db.add(request)
            return refused
        request.status = DONE
        db.add(request)
        for key in bound:
            deliveries.queue_binding_notice(db, contract_key=key, bound=True, event_id=f"r{request.id}")
        _audit(db, user, audit.BINDING_CONFIRMED, audit.OK, mine.number)
        taken = set(db.exec(select(binding.ContractBinding.contract_key).where(
            col(binding.ContractBinding.contract_key).in_([c.key for c in contracts]))).all())
        offered = tuple(c for c in contracts if c.key not in taken and c.status is ContractStatus.ACTIVE)
        return Bound(organisation_key, organisation.short_name, (mine.number,), offered)

    result = await _in_db(check, engine)
    if isinstance(result, BindingError):
        raise result
    return result


async def bind_more(gateway: BillingGateway, *, user_id: int, organisation_key: str,
                    contract_keys: Sequence[object], engine: sa.Engine | None = None) -> tuple[str, ...]:
    """Bind more of the organisation's active contracts (its administrator only);
    the numbers bound.  Keys that are not the organisation's are ignored."""
    wanted = {k for k in contract_keys if isinstance(k, str)}

    def allowed(db: Session) -> None:
        if binding.role_in(db, user_id, organisation_key) != ADMINISTRATOR:
            raise BindingError("binding.not_administrator")

    await _in_db(allowed, engine)
    contracts = await _ask(gateway.list_contracts(organisation_key))
    if not isinstance(contracts, tuple):
        raise BindingError("billing.unavailable")
    chosen = [c for c in contracts if c.key in wanted and c.status is ContractStatus.ACTIVE]
    if not chosen:
        raise BindingError("binding.nothing_chosen")

    def bind(db: Session) -> tuple[str, ...]:
        user = _user(db, user_id)
        store.store_records(db, ChangeKind.CONTRACTS, contracts, clock.utcnow())
        keys = binding.bind(db, user_id=user_id, organisation_key=organisation_key,
                            contract_keys=[c.key for c in chosen])
        numbers = tuple(c.number for c in chosen if c.key in keys)
        for key in keys:
            deliveries.queue_binding_notice(db, contract_key=key, bound=True,
                                            event_id=f"u{user_id}-{clock.utcnow():%Y%m%d%H%M%S}")
        _audit(db, user, audit.BINDING_CONFIRMED, audit.OK, ", ".join(numbers)[:200])
        return numbers

    return await _in_db(bind, engine)


# --------------------------------------------------------------------------- unbinding


async def unbind_contract(*, user_id: int, contract_key: object, engine: sa.Engine | None = None) -> str:
    """Unbind a contract (administrators only); billing is told.  Its number."""

    def run(db: Session) -> str:
        user = _user(db, user_id)
        gone = binding.unbind(db, user_id=user_id, contract_key=contract_key)
        copy = store.contract(db, gone.contract_key)
        number = copy.number if copy is not None else gone.contract_key
        deliveries.queue_binding_notice(db, contract_key=gone.contract_key, bound=False,
                                        event_id=f"u{user_id}-{clock.utcnow():%Y%m%d%H%M%S%f}")
        _audit(db, user, audit.CONTRACT_UNBOUND, audit.OK, number)
        return number

    return await _in_db(run, engine)
