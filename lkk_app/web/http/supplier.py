"""``GET /supplier-logo``: the supplier's logo (``LKK_SUPPLIER_LOGO``).

Only the one file the settings name and checked at start (a PNG, JPEG, WebP
or SVG of at most 512 KB, its first bytes matching its kind) is ever served,
with the type of its kind; nothing of the request chooses a file.  An SVG
opened on its own gets the pages' Content-Security-Policy (no inline script).
"""

from __future__ import annotations

import functools
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

from lkk_app.settings import LOGO_TYPES, get_settings


@functools.lru_cache(maxsize=2)
def _read(path: Path, mtime_ns: int) -> bytes:
    return path.read_bytes()


async def supplier_logo(request: Request) -> Response:
    path = get_settings().supplier_logo
    try:
        data = _read(path, path.stat().st_mtime_ns)
    except OSError:
        return Response(status_code=404)
    return Response(data, media_type=LOGO_TYPES[path.suffix.lower()],
                    headers={"X-Content-Type-Options": "nosniff"})
