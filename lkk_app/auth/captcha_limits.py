"""Who may have a new «Код авторизации» drawn: every page load and every
«Обновить код» costs an image, and any connected client can ask for one by
calling the handler by name.

* **Per connection** (the tab's Reflex token): at most :data:`PER_CONNECTION`
  per 10 minutes, counted in this process's memory — a websocket stays with
  one worker, and the IP limit below holds across workers and reconnects.
* **Per client IP**: :data:`ratelimit.CAPTCHA_PER_IP` (30 per 10 minutes),
  in the database (``lkk_rate_event``), so it holds with several workers.

:func:`listen` («Прослушать код») has a limit of its own per client IP,
:data:`ratelimit.CAPTCHA_AUDIO_PER_IP`, counted only for a challenge that can
be spoken.

Over either limit :func:`issue` returns None: no challenge, no image drawn;
the page shows ``captcha.limited`` instead.  A refused request counts in
neither.  IPs in ``Settings.rate_exempt_ips`` (test servers) are not counted.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from datetime import timedelta

from sqlmodel import Session

from lkk_app.auth import captcha, ratelimit
from lkk_app.settings import Settings, get_settings

PER_CONNECTION = ratelimit.Limit(15, timedelta(minutes=10))
# Connections remembered at most (the least recently used are forgotten).
MAX_CONNECTIONS = 20_000


class ConnectionWindow:
    """Sliding-window counts per key, in memory, thread-safe, bounded."""

    def __init__(self, limit: ratelimit.Limit, max_keys: int = MAX_CONNECTIONS,
                 clock=time.monotonic) -> None:
        self.limit = limit
        self.max_keys = max_keys
        self._clock = clock
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str) -> bool:
        """Count one event for ``key`` if it is under the limit; True when counted."""
        now = self._clock()
        horizon = now - self.limit.window.total_seconds()
        with self._lock:
            stamps = self._seen.get(key)
            if stamps is None:
                stamps = self._seen[key] = deque()
            self._seen.move_to_end(key)
            while stamps and stamps[0] <= horizon:
                stamps.popleft()
            if len(stamps) >= self.limit.limit:
                return False
            stamps.append(now)
            while len(self._seen) > self.max_keys:
                self._seen.popitem(last=False)
            return True

    def give_back(self, key: str) -> None:
        """Undo the last :meth:`take` of ``key`` (another limit refused)."""
        with self._lock:
            stamps = self._seen.get(key)
            if stamps:
                stamps.pop()

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()


connections = ConnectionWindow(PER_CONNECTION)


def issue(session: Session, *, connection: str, ip: str | None,
          settings: Settings | None = None) -> tuple[str, bytes] | None:
    """A new challenge ``(challenge_id, png)`` (``captcha.new_challenge``), or
    None when the connection or its IP has had too many.  Flushes, does not
    commit."""
    settings = settings or get_settings()
    exempt = not settings.is_production and ratelimit.is_exempt(ip, settings.rate_exempt_ips)
    if not exempt:
        key = connection or "?"
        if not connections.take(key):
            return None
        if not ratelimit.allow_all(session, [ratelimit.captcha_ip_rule(ip)]):
            connections.give_back(key)
            return None
    return captcha.new_challenge(session, settings=settings)


def listen(session: Session, *, challenge_id: str | None, ip: str | None,
           settings: Settings | None = None) -> tuple[str, bytes] | str:
    """«Прослушать код»: ``(code, seed)`` to speak (``captcha.code_to_speak``), or
    ``"unknown"`` (no such unexpired, unused challenge — nothing counted) or
    ``"limited"`` (the IP had :data:`ratelimit.CAPTCHA_AUDIO_PER_IP`).  Counts
    one recording for the IP; flushes, does not commit."""
    settings = settings or get_settings()
    spoken = captcha.code_to_speak(session, challenge_id, settings=settings)
    if spoken is None:
        return "unknown"
    exempt = not settings.is_production and ratelimit.is_exempt(ip, settings.rate_exempt_ips)
    if not exempt and not ratelimit.allow_all(session, [ratelimit.captcha_audio_ip_rule(ip)]):
        return "limited"
    return spoken
