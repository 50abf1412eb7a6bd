"""The production server: gunicorn starts ``LKK_WORKERS`` processes, each an
uvicorn server (uvloop, httptools, the sans-I/O ``websockets`` protocol).

Chosen over granian (Reflex's default) for memory: granian's websocket keeps
its read and write buffers (≈ 150 KiB) for as long as a tab is open, uvicorn's
≈ 21 KiB (bench/README.md, «Load»).  ``rxconfig.py`` makes ``reflex run --env
prod`` use it (``REFLEX_USE_GRANIAN=false``, ``GUNICORN_CMD_ARGS``:
``server_command.py``).
"""

from __future__ import annotations

import gc
import os
from typing import Any, ClassVar

from uvicorn_worker import UvicornWorker

# The largest websocket message in bytes.  Engine.IO's limit (rxconfig.py) counts
# characters, and a character takes up to 4 bytes in UTF-8: a message that it
# would take must pass here; a far bigger one is refused by the protocol before
# it is held whole in memory (uvicorn's default: 16 MiB).
_MAX_MESSAGE = 4 * int(os.environ.get("REFLEX_SOCKET_MAX_HTTP_BUFFER_SIZE", str(64 * 1024)))


# Young objects a collection waits for (Python's default: 700, 10, 10).  An
# event makes thousands that die young; at the default a worker collected
# several times per event and walked every tab's state in full every second or
# so.  50 000 young objects are a few MB.
_GC_THRESHOLDS = (50_000, 20, 10)


class Worker(UvicornWorker):
    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {
        "loop": "uvloop",
        "http": "httptools",
        "ws": "websockets-sansio",
        "ws_max_size": _MAX_MESSAGE,
        # Compression would keep a deflate window per tab (≈ 27 KiB more each);
        # the messages are small and the pages' own files are compressed.
        "ws_per_message_deflate": False,
        # The client's address is the app's business (LKK_TRUSTED_PROXY_HOPS,
        # web/http/base.py): uvicorn must not rewrite it from X-Forwarded-For.
        "proxy_headers": False,
        # Engine.IO pings every tab itself (and closes a silent one): no second ping.
        "ws_ping_interval": None,
        "server_header": False,
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Made in gunicorn's master before it forks this worker, after the app
        # was imported (--preload): what exists now lives as long as the process,
        # so the collector stops walking it.  Without this, every full
        # collection walked the app's ≈ 190 000 objects too (≈ 100–200 ms in which no
        # tab gets an answer — the p99 of bench/load.py).
        gc.collect()
        gc.freeze()
        gc.set_threshold(*_GC_THRESHOLDS)
        super().__init__(*args, **kwargs)
