"""redis-py asks importlib.metadata for its version at every new connection
(a walk over sys.path on the event loop); the app makes it ask once."""

from __future__ import annotations

from importlib import metadata

import redis.utils
from redis.driver_info import DriverInfo

from lkk_app.web.asgi import redis_version


def test_the_version_is_asked_once(monkeypatch):
    asked = []
    real = metadata.version

    def counting(name: str) -> str:
        asked.append(name)
        return real(name)

    # redis-py's own function (another test may have imported the app already); restored after
    monkeypatch.setattr(redis.utils, "get_lib_version",
                        getattr(redis.utils.get_lib_version, "__wrapped__", redis.utils.get_lib_version))
    monkeypatch.setattr(redis.utils.metadata, "version", counting)
    redis_version.install()
    versions = {DriverInfo().lib_version for _ in range(50)}
    assert versions == {real("redis")}
    assert asked == ["redis"]
    redis_version.install()  # a second install keeps the one cache
    assert DriverInfo().lib_version == real("redis") and asked == ["redis"]
