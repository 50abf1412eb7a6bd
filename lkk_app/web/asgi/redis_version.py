"""redis-py names itself to the server on every new connection (``CLIENT
SETINFO``) and asks ``importlib.metadata`` for its own version each time: a
walk over every directory of ``sys.path`` on the event loop, 20–100 ms with
this virtualenv.  With the Redis state manager a worker opens connections as
its load grows, and every tab waited that long (bench/load.py: p99 0.2 s in the
open loop).  The version does not change while the process runs: it is asked
once.
"""

from __future__ import annotations

import functools


def install() -> None:
    import redis.utils

    if not hasattr(redis.utils.get_lib_version, "cache_info"):
        # driver_info imports it from redis.utils at every call: replacing it there is enough.
        redis.utils.get_lib_version = functools.cache(redis.utils.get_lib_version)
