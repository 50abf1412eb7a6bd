"""What the states share: who is logged in, running work as that user, the
skeleton of a form submit, reading a form, drawing a captcha.

The only credential is the HttpOnly session cookie, read from the websocket
handshake; every protected handler resolves it again (any client can call any
handler by name).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, TypeVar

import reflex as rx
from reflex.event import EventSpec

from lkk_app import cpu_pools, routes
from lkk_app.auth import captcha, captcha_audio, captcha_limits
from lkk_app.auth import sessions as session_service
from lkk_app.auth.sessions import CurrentUser
from lkk_app.core.text import MAX_INPUT
from lkk_app.db import session_scope
from lkk_app.i18n import t
from lkk_app.settings import get_settings
from lkk_app.web.cookies import cookie_value

T = TypeVar("T")



def read_form(form_data: Any, names: Iterable[str], *, strip: Iterable[str] = ()) -> dict[str, str]:
    """The fields ``names`` of a submitted form as strings cut to
    :data:`MAX_INPUT` (whatever a client sent: missing keys, other types);
    those in ``strip`` without surrounding spaces."""
    data = form_data if isinstance(form_data, dict) else {}
    strip = set(strip)
    values = {}
    for name in names:
        value = str(data.get(name, "") or "")[:MAX_INPUT]
        values[name] = value.strip() if name in strip else value
    return values


# --------------------------------------------------------------------------- the current user


class SignedOut(Exception):
    """The tab's session is gone — or is *restricted* (opened with a temporary
    password) where that is not enough."""

    def __init__(self, restricted: bool = False) -> None:
        super().__init__("restricted session" if restricted else "no session")
        self.restricted = restricted


def _as_user(token: str, allow_restricted: bool, fn: Callable[..., T], args: tuple) -> T | SignedOut:
    """Worker thread: resolve the session and run ``fn(db, me, *args)`` in one
    transaction.  A refusal is returned, not raised, so that the transaction
    still commits (the session's ``last_seen_at``)."""
    with session_scope() as db:
        me = session_service.current_user(db, token, allow_restricted=True)
        if me is None:
            return SignedOut()
        if me.must_change_password and not allow_restricted:
            return SignedOut(restricted=True)
        return fn(db, me, *args)


class AuthState(rx.State):
    """Base of every state that needs to know the user.

    A *restricted* session counts as "not logged in" for every page and
    handler but «Смена пароля» (``allow_restricted=True``); it is sent there
    instead of to the login window."""

    def _session_token(self) -> str:
        return cookie_value(self.router.headers.cookie, get_settings().session_cookie_name)

    def _client(self) -> tuple[str, str]:
        """The client's IP and user agent, for the audit trail."""
        return (self.router.session.client_ip or "",
                (self.router.headers.user_agent or "")[:session_service.USER_AGENT_MAX])

    async def _run_as_user(self, fn: Callable[..., T], *args: Any, allow_restricted: bool = False,
                           pool: cpu_pools.BoundedPool | None = None) -> T:
        """``fn(db, me, *args)`` for this tab's session, in one worker-thread hop
        (``pool``'s for bcrypt, else asyncio's) and one transaction; ``me`` is
        the :class:`CurrentUser`.  Raises :class:`SignedOut` (and
        ``cpu_pools.PoolBusy`` from a full ``pool``)."""
        token = self._session_token()
        if not token:
            raise SignedOut()
        if pool is None:
            result = await asyncio.to_thread(_as_user, token, allow_restricted, fn, args)
        else:
            result = await pool.run(_as_user, token, allow_restricted, fn, args)
        if isinstance(result, SignedOut):
            raise result
        return result

    async def _current_user(self, *, allow_restricted: bool = False) -> CurrentUser | None:
        try:
            return await self._run_as_user(lambda _db, me: me, allow_restricted=allow_restricted)
        except SignedOut:
            return None

    def _to_login(self, gone: SignedOut | None = None) -> EventSpec:
        """Away from a page the session may not use: a restricted session to
        «Смена пароля», anyone else to the login window (and back here after),
        which says «Сеанс завершён» when this tab had a session that has ended."""
        if gone is not None and gone.restricted:
            return rx.redirect(routes.CHANGE_PASSWORD)
        path = self.router.url.path or routes.CABINET_HOME
        query = self.router.url.query
        return rx.redirect(routes.login_then(path + (f"?{query}" if query else ""),
                                             ended=bool(self._session_token())))

    def _clear(self) -> None:
        """Forget what the page loaded (overridden by the pages' states)."""

    def _signed_out(self, gone: SignedOut) -> EventSpec:
        self._clear()
        return self._to_login(gone)


# --------------------------------------------------------------------------- form submits


async def submit_form(
    state: rx.State,
    busy: str,
    work: Callable[[], Awaitable[T]],
    done: Callable[[T], Any],
    *,
    pool_busy: str | Callable[[str], None] = "",
) -> AsyncIterator[Any]:
    """The skeleton every form handler shares; use as
    ``async for event in submit_form(...): yield event``.

    Sets the flag ``busy`` (the page shows it: ``aria-busy``, a spinner — it
    is not a double-submit guard, Reflex runs one event of a tab's state at a
    time) and sends it to the browser, runs the slow ``work()`` (a thread hop,
    a bounded pool), clears the flag, and hands the result to ``done``, whose
    events (or the awaitable of them) go to the browser.  When the bounded
    pool is full, ``pool_busy`` (a field's name, or a function given the text)
    says «повторите попытку»; when the
    session is gone, the page is left (:meth:`AuthState._signed_out`)."""
    if getattr(state, busy):
        return
    setattr(state, busy, True)
    yield None
    try:
        try:
            result = await work()
        finally:
            setattr(state, busy, False)
    except cpu_pools.PoolBusy:
        if not pool_busy:
            raise
        if callable(pool_busy):
            pool_busy(t("busy.retry"))
        else:
            setattr(state, pool_busy, t("busy.retry"))
        return
    except SignedOut as gone:
        if not isinstance(state, AuthState):
            raise
        yield state._signed_out(gone)
        return
    events = done(result)
    if inspect.isawaitable(events):
        events = await events
    if events is not None:
        yield events


# --------------------------------------------------------------------------- «Код авторизации»


def _new_challenge(connection: str, ip: str) -> tuple[str, str] | None:
    """Captcha pool: a new challenge (its id and the image as a data URL), or
    None when this tab or its IP asked for too many (``captcha_limits``)."""
    with session_scope() as db:
        issued = captcha_limits.issue(db, connection=connection, ip=ip)
    if issued is None:
        return None
    challenge_id, png = issued
    return challenge_id, captcha.png_data_url(png)


def audio_address(challenge_id: str) -> str:
    """Where «Прослушать код» fetches this challenge spoken; ``""`` without a
    challenge or without espeak-ng on this server (the block says so)."""
    if not challenge_id or not captcha_audio.available():
        return ""
    return routes.server_address(routes.captcha_audio(challenge_id))


async def draw_challenge(state: rx.State) -> tuple[str, str, str]:
    """A new challenge for this tab, drawn on the captcha's own bounded pool:
    (challenge id, image, ``""``), or ``("", "", problem)`` with the catalogue key
    of why there is none (the pool is full; too many new codes)."""
    try:
        issued = await cpu_pools.CAPTCHA.run(_new_challenge, state.router.session.client_token,
                                             state.router.session.client_ip or "")
    except cpu_pools.PoolBusy:
        return "", "", "busy.captcha"
    if issued is None:
        return "", "", "captcha.limited"
    return issued[0], issued[1], ""
