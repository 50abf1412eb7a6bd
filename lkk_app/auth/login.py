"""The login window's password check and its limits: one use case,
:func:`log_in`, with a typed :class:`LoginOutcome` (SECURITY.md, "Passwords
and credentials" and "Why these login limits", for the numbers and the reasons).

Who is throttled: each login per client (a known device of the account — its
device cookie — or else the IP address), each login over all unknown devices
together, and each client IP.  A temporary password from a recovery letter is
accepted while the login's own limits refuse a password, not past the per-IP
limit — so nobody can keep the owner out.

Every limit is reserved before bcrypt runs, in a short transaction committed
first (``throttle.reserve``, ``ratelimit.reserve``); a success takes the
reservation back.  Every refusal costs the same one bcrypt check as a wrong
password, is padded to the time a checked wrong password takes end to end (it
writes no reservation: :data:`CHECKED_FAILURE_TIME`) and gives the same answer
for known, unknown, unconfirmed and throttled logins; only the IP limit, which
says nothing about the login, skips them.  Only a correct password learns that the e-mail is not confirmed yet.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import statistics
import threading
import time
from datetime import datetime

from sqlmodel import Session

from lkk_app import db as db_module
from lkk_app.auth import audit, captcha, confirmation, devices, passwords, ratelimit, recovery, throttle
from lkk_app.auth import sessions as session_service
from lkk_app.auth import users as user_service
from lkk_app.core.errors import AuthenticationFailed
from lkk_app.models import User, saved_id
from lkk_app.settings import Settings, get_settings


class _CheckedFailureTime:
    """How long a login whose wrong password was checked takes, end to end (the
    median of the last 32 in this process).  A refusal — no password compared,
    no reservation written — is padded to it, so its answer comes as late as a
    wrong password's: the time does not tell a throttled login."""

    def __init__(self) -> None:
        self._samples: collections.deque[float] = collections.deque(maxlen=32)
        self._lock = threading.Lock()

    def add(self, seconds: float) -> None:
        with self._lock:
            self._samples.append(seconds)

    def typical(self) -> float:
        with self._lock:
            return statistics.median(self._samples) if self._samples else 0.0

    def pad(self, started: float, at_most: float = 2.0) -> None:
        """Sleep (in the caller's worker thread) until ``started`` + the typical time."""
        remaining = self.typical() - (time.perf_counter() - started)
        if remaining > 0:
            time.sleep(min(remaining, at_most))


CHECKED_FAILURE_TIME = _CheckedFailureTime()


class LoginResult(enum.Enum):
    OK = "ok"
    RESTRICTED = "restricted"      # a temporary password: only «Смена пароля»
    UNCONFIRMED = "unconfirmed"    # right password, e-mail not confirmed yet
    INVALID = "invalid"            # wrong password, or a missing or wrong code
    WAIT = "wait"                  # a wait is running
    IP_LIMIT = "ip"                # too many failures from this address


@dataclasses.dataclass(frozen=True)
class LoginOutcome:
    """What one login attempt came to.

    * ``OK`` / ``RESTRICTED``: ``session_token`` of the new session (for the
      cookie only) and ``device_token``, the device cookie the browser must
      hold from now on;
    * ``UNCONFIRMED``: ``resend_ticket`` (``confirmation.resend_ticket``),
      which allows only «Отправить письмо повторно»;
    * ``INVALID`` / ``WAIT``: ``needs_captcha`` and ``retry_at`` (naive UTC),
      what the login window must show next;
    * ``IP_LIMIT``: nothing more.
    """

    result: LoginResult
    # Secrets: kept out of the repr (and so out of any log line).
    session_token: str = dataclasses.field(default="", repr=False)
    device_token: str = dataclasses.field(default="", repr=False)
    resend_ticket: str = dataclasses.field(default="", repr=False)
    needs_captcha: bool = False
    retry_at: datetime | None = None

    @property
    def logged_in(self) -> bool:
        return self.result in (LoginResult.OK, LoginResult.RESTRICTED)


# Why an attempt was refused before its password was checked (also the audit ``detail``).
_WAIT = "wait"
_CODE = "captcha"

# ``detail`` of the audit trail's ``session_ended``: a new login in the same browser.
ENDED_BY_NEW_LOGIN = "new login"


@dataclasses.dataclass(frozen=True)
class _Plan:
    """The buckets of one attempt."""

    user_id: int | None
    strict_key: str             # per login and client
    login_bucket: str | None    # per login, unknown devices; None for a known device
    ip_bucket: str | None       # per IP; None for a known device


def _plan(db: Session, login: str, ip: str, device_token: str,
          settings: Settings) -> _Plan:
    user = user_service.get_user_by_login(db, login)
    user_id = user.id if user is not None else None
    device = devices.known_device(db, device_token, user_id) if device_token else None
    if device is not None:
        return _Plan(user_id, throttle.client_key(login, device=device, settings=settings),
                     None, None)
    return _Plan(
        user_id,
        throttle.client_key(login, ip=ip, settings=settings),
        ratelimit.login_fail_login_bucket(throttle.key_hash(login, settings=settings)),
        ratelimit.login_fail_ip_bucket(ip),
    )


def _state(db: Session, plan: _Plan) -> throttle.ThrottleState:
    """The combined state of the plan's login buckets (reads only)."""
    strict = throttle.check(db, plan.strict_key)
    if plan.login_bucket is None:
        return strict
    code_rule, stop_rule = ratelimit.LOGIN_FAILS_PER_LOGIN_CODE, ratelimit.LOGIN_FAILS_PER_LOGIN_STOP
    held = ratelimit.count(db, plan.login_bucket, code_rule.window)
    stop_until = (ratelimit.free_at(db, plan.login_bucket, limit=stop_rule.limit,
                                    window=stop_rule.window)
                  if held >= stop_rule.limit else None)
    waits = [w for w in (strict.retry_at, stop_until) if w is not None]
    return throttle.ThrottleState(
        needs_captcha=strict.needs_captcha or held >= code_rule.limit,
        retry_at=max(waits) if waits else None,
        failures=strict.failures,
    )


def window_state(db: Session, *, login: str, ip: str, device_token: str = "",
                 settings: Settings | None = None) -> throttle.ThrottleState:
    """What the login window must show for ``login`` tried from this client:
    whether the code is needed, and the end of a running wait."""
    settings = settings or get_settings()
    return _state(db, _plan(db, login, ip, device_token, settings))


def _reserve(db: Session, plan: _Plan, code_ok: bool) -> tuple[str, int | None]:
    """Reserve the attempt in the login buckets: ("", per-login event id) when
    it may be checked, else (refusal, None) with nothing reserved there."""
    login_event = None
    if plan.login_bucket is not None:
        code_rule = ratelimit.LOGIN_FAILS_PER_LOGIN_CODE
        stop_rule = ratelimit.LOGIN_FAILS_PER_LOGIN_STOP
        login_event, held = ratelimit.reserve(db, plan.login_bucket, stop_rule.window)
        refusal = (_WAIT if held > stop_rule.limit
                   else _CODE if held > code_rule.limit and not code_ok else "")
        if refusal:
            ratelimit.release(db, login_event)
            return refusal, None
    reservation = throttle.reserve(db, plan.strict_key, code_ok=code_ok)
    if not reservation.allowed:
        ratelimit.release(db, login_event)
        return reservation.refusal, None
    return "", login_event


def log_in(
    *,
    login: str,
    password: str,
    ip: str,
    user_agent: str = "",
    captcha_id: str = "",
    code: str = "",
    device_token: str = "",
    previous_session: str = "",
    settings: Settings | None = None,
) -> LoginOutcome:
    """Check a login; runs in a worker thread (bcrypt), opens its own
    transactions (``db.session_scope``).

    ``device_token``: the browser's device cookie; ``previous_session``: its
    session cookie, ended when this login succeeds (a new login in the same
    browser replaces the old session, whoever it belonged to).  Only a correct
    password learns that the e-mail is not confirmed yet."""
    settings = settings or get_settings()
    ip = ip or ""
    started = time.perf_counter()
    # 1. Reserve, in one short transaction committed before bcrypt.
    with db_module.session_scope() as db:
        plan = _plan(db, login, ip, device_token, settings)
        ip_rule = ratelimit.LOGIN_FAILS_PER_IP

        def refused_by_ip() -> LoginOutcome:
            audit.record(db, event=audit.LOGIN_THROTTLED, result=audit.REFUSED,
                         user_id=plan.user_id, login=login, ip=ip, user_agent=user_agent,
                         detail="ip limit")
            return LoginOutcome(LoginResult.IP_LIMIT)

        if plan.ip_bucket is not None and ratelimit.is_limited(
                db, plan.ip_bucket, limit=ip_rule.limit, window=ip_rule.window):
            return refused_by_ip()  # cheap: no password check, nothing reserved
        before = _state(db, plan)
        refusal = _WAIT if before.waiting() else ""
        code_ok = False
        if not refusal and before.needs_captcha:
            # One guess per challenge, spent in a transaction of its own that
            # is committed whatever happens next (nothing is written in ``db`` yet).
            with db_module.session_scope() as captcha_db:
                code_ok = captcha.verify(captcha_db, captcha_id or None, code or None)
            if not code_ok:
                refusal = _CODE
        ip_event = None
        if plan.ip_bucket is not None:
            # Every attempt counts against the address, refused ones too.
            ip_event, held = ratelimit.reserve(db, plan.ip_bucket, ip_rule.window)
            if held > ip_rule.limit:
                ratelimit.release(db, ip_event)
                return refused_by_ip()
        login_event = None
        if not refusal:
            # A wrong or missing code reserves nothing here: it tested no
            # password (and anyone could otherwise prolong a victim's wait).
            refusal, login_event = _reserve(db, plan, code_ok)
    # 2. Check, outside any lock; 3. settle in a second transaction.
    if refusal:
        with db_module.session_scope() as db:
            outcome = _refused(db, plan, refusal, login=login, password=password, ip=ip,
                               user_agent=user_agent, ip_event=ip_event,
                               device_token=device_token, previous_session=previous_session,
                               settings=settings)
        if outcome.result in (LoginResult.WAIT, LoginResult.INVALID):
            CHECKED_FAILURE_TIME.pad(started)  # committed first: nothing is held while waiting
        return outcome
    with db_module.session_scope() as db:
        try:
            user: User | None = user_service.authenticate(db, login=login, password=password,
                                                          settings=settings)
            restricted = False
        except AuthenticationFailed:
            # The old password keeps working; a temporary one opens a session
            # that allows only «Смена пароля».
            user = recovery.authenticate_temp(db, login=login, password=password, settings=settings)
            restricted = True
        if user is not None:
            return _succeeded(db, plan, user, restricted=restricted, login=login, ip=ip,
                              user_agent=user_agent, events=(ip_event, login_event),
                              device_token=device_token, previous_session=previous_session,
                              settings=settings)
        # The reservation stays: it is the failure.
        audit.record(db, event=audit.LOGIN_FAILURE, result=audit.FAIL, user_id=plan.user_id,
                     login=login, ip=ip, user_agent=user_agent, detail="password")
        state = _state(db, plan)
        failed = LoginOutcome(LoginResult.INVALID, needs_captcha=state.needs_captcha,
                              retry_at=state.retry_at)
    CHECKED_FAILURE_TIME.add(time.perf_counter() - started)  # committed: the whole path
    return failed


def _refused(db: Session, plan: _Plan, refusal: str, *, login: str, password: str, ip: str,
             user_agent: str, ip_event: int | None, device_token: str, previous_session: str,
             settings: Settings) -> LoginOutcome:
    """A refusal: the password is not checked, but the time spent is that of a
    wrong one (one bcrypt check, against the dummy hash); a temporary password
    (a keyed hash, cheap) still opens its restricted session."""
    temp_user = recovery.authenticate_temp(db, login=login, password=password, settings=settings)
    passwords.dummy_verify(password, secret_key=settings.secret_key, cost=settings.bcrypt_cost)
    if temp_user is not None:
        # This client's series of failures goes on (an attacker behind the
        # same address stays throttled); only the address's count is taken back.
        return _succeeded(db, plan, temp_user, restricted=True, login=login, ip=ip,
                          user_agent=user_agent, events=(ip_event, None),
                          device_token=device_token, previous_session=previous_session,
                          settings=settings, detail=f"temporary password while throttled ({refusal})",
                          end_series=False)
    waiting = refusal == _WAIT
    audit.record(db, event=audit.LOGIN_THROTTLED if waiting else audit.LOGIN_FAILURE,
                 result=audit.REFUSED if waiting else audit.FAIL, user_id=plan.user_id,
                 login=login, ip=ip, user_agent=user_agent, detail=refusal)
    state = _state(db, plan)
    return LoginOutcome(LoginResult.WAIT if waiting else LoginResult.INVALID,
                        needs_captcha=state.needs_captcha, retry_at=state.retry_at)


def _succeeded(db: Session, plan: _Plan, user: User, *, restricted: bool, login: str, ip: str,
               user_agent: str, events: tuple[int | None, int | None], device_token: str,
               previous_session: str, settings: Settings, detail: str = "",
               end_series: bool = True) -> LoginOutcome:
    """A right password (or temporary password): the reservations are taken
    back and this client's series of failures ends — strangers elsewhere stay
    throttled."""
    user_id = saved_id(user)
    for event_id in events:
        ratelimit.release(db, event_id)
    if end_series:
        throttle.reset(db, plan.strict_key)
    if previous_session:
        ended_user = session_service.revoke_session(db, previous_session)
        if ended_user is not None:
            audit.record(db, event=audit.SESSION_ENDED, user_id=ended_user, ip=ip,
                         user_agent=user_agent, detail=ENDED_BY_NEW_LOGIN)
    if restricted:
        # One entry: «Вход по временному паролю» (not also «Вход в личный кабинет»).
        audit.record(db, event=audit.RECOVERY_USED, user_id=user_id, login=user.login,
                     ip=ip, user_agent=user_agent, detail=detail or "temporary password")
        token = session_service.mint_session(db, user_id=user_id, ip=ip, user_agent=user_agent,
                                             must_change_password=True, settings=settings)
        return LoginOutcome(LoginResult.RESTRICTED, session_token=token,
                            device_token=devices.remember(db, device_token, user_id))
    if user.email_confirmed_at is None:
        # The owner's own right password: not «Неудачная попытка входа».
        audit.record(db, event=audit.LOGIN_UNCONFIRMED, result=audit.REFUSED, user_id=user_id,
                     login=login, ip=ip, user_agent=user_agent)
        return LoginOutcome(LoginResult.UNCONFIRMED,
                            resend_ticket=confirmation.resend_ticket(user_id, settings))
    audit.record(db, event=audit.LOGIN_SUCCESS, user_id=user_id, login=login, ip=ip,
                 user_agent=user_agent)
    token = session_service.mint_session(db, user_id=user_id, ip=ip, user_agent=user_agent,
                                         settings=settings)
    return LoginOutcome(LoginResult.OK, session_token=token,
                        device_token=devices.remember(db, device_token, user_id))


__all__ = ["ENDED_BY_NEW_LOGIN", "LoginOutcome", "LoginResult", "log_in", "window_state"]
