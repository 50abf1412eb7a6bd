"""Small bounded thread pools for CPU-heavy work (SECURITY.md, «Work one client
can cause»).

bcrypt and captcha drawing each get their own few threads instead of
asyncio's shared default pool, which also serves every database call (the
session check of every protected handler, the mail sender).  A flood of public
events can then keep at most these threads busy: logins still hash and
database calls still run.

Each pool takes a fixed number of jobs — its threads plus a short wait list —
and, if it has a rate, at most that many new jobs per second.  A job beyond
either is refused at once with :class:`PoolBusy` (the caller shows «повторите
попытку»), never queued behind minutes of work.  A slot is freed
when the job *finishes* in its thread, not when its caller stops waiting, so a
cancelled handler cannot make room for more work than the threads can do.

The executors are made at first use: the production server imports the app
before it forks its workers.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from lkk_app.core.token_bucket import TokenBucket

log = logging.getLogger("lkk.cpu_pools")

T = TypeVar("T")

# Seconds between two log lines about one pool refusing work.
REFUSAL_LOG_INTERVAL = 60.0


class PoolBusy(Exception):
    """The pool's threads and its wait list are all taken: try again later."""


class BoundedPool:
    def __init__(self, name: str, *, threads: int, waiting: int,
                 per_second: float | None = None) -> None:
        self.name = name
        self.threads = threads
        self.waiting = waiting
        self.per_second = per_second
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._taken = 0
        self._refused = 0
        self._last_log = float("-inf")

    @property
    def capacity(self) -> int:
        """Jobs accepted at once: running plus waiting."""
        return self.threads + self.waiting

    @property
    def taken(self) -> int:
        return self._taken

    def _after_fork(self) -> None:
        """In a forked child the parent's threads do not exist: start afresh."""
        self._lock = threading.Lock()
        self._executor = None
        self._taken = 0

    def _executor_now(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.threads, thread_name_prefix=f"lkk-{self.name}")
        return self._executor

    @property
    def per_second(self) -> float | None:
        """Jobs a second at the most (``None``: any number)."""
        return None if self._bucket is None else self._bucket.rate

    @per_second.setter
    def per_second(self, value: float | None) -> None:
        # A token bucket of the rate (starts full; holds one second's worth).
        self._bucket = None if value is None else TokenBucket(value, value)

    def _rate_allows(self, now: float) -> bool:
        return self._bucket is None or self._bucket.take(now)

    def _release(self, _future: Future) -> None:
        with self._lock:
            self._taken -= 1

    def submit(self, fn: Callable[..., T], *args: Any) -> Future:
        """Start ``fn(*args)`` in the pool (with the caller's context variables),
        or raise :class:`PoolBusy` at once when the pool is full."""
        with self._lock:
            now = time.monotonic()
            if self._taken >= self.capacity or not self._rate_allows(now):
                self._refused += 1
                if now - self._last_log >= REFUSAL_LOG_INTERVAL:
                    log.warning("%s pool full (%d running or waiting, %s per second): %d job(s) "
                                "refused since the last report", self.name, self.capacity,
                                self.per_second or "any", self._refused)
                    self._last_log, self._refused = now, 0
                raise PoolBusy(self.name)
            self._taken += 1
            executor = self._executor_now()
        try:
            future = executor.submit(contextvars.copy_context().run, functools.partial(fn, *args))
        except BaseException:
            with self._lock:
                self._taken -= 1
            raise
        future.add_done_callback(self._release)
        return future

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``await asyncio.to_thread(fn, *args)``, but in this pool and bounded."""
        return await asyncio.wrap_future(self.submit(fn, *args))


# bcrypt (cost 12 ≈ 0.3 s per check; a login costs two checks): one thread per
# core of the reference machine; 16 waiting ≈ 4 s of queued logins at most.
PASSWORDS = BoundedPool("bcrypt", threads=2, waiting=16)
# Captcha images (15–40 ms of CPU each with the PNG encoding and the database
# row): one thread, 8 waiting, at most 5 new images a second per server
# process — a flood of «Обновить код» takes at most about a fifth of one core,
# while 5 a second is far more than people opening the registration page need.
CAPTCHA = BoundedPool("captcha", threads=1, waiting=8, per_second=5)
# Spoken codes (about 0.3 s of CPU each, espeak-ng included): made only when
# someone presses «Прослушать код»; one thread, 4 waiting, at most 2 a second.
CAPTCHA_AUDIO = BoundedPool("captcha-audio", threads=1, waiting=4, per_second=2)

# Documents' PDFs (60–200 ms each the first time, then read from the database)
# and .zip files of up to 50: two threads, 16 waiting.
PDF = BoundedPool("pdf", threads=2, waiting=16)

for _pool in (PASSWORDS, CAPTCHA, CAPTCHA_AUDIO, PDF):
    os.register_at_fork(after_in_child=_pool._after_fork)
