"""Reflex configuration.  The values come from lkk_app.settings, which reads
and validates the LKK_* environment; any rx.Config field can still be
overridden with a REFLEX_* variable."""

import os

import reflex as rx

from lkk_app.settings import settings_or_exit
from lkk_app.web.asgi import server_command

_settings = settings_or_exit()

# Largest websocket message the server accepts (Engine.IO's max_http_buffer_size,
# read when the app creates its Socket.IO server, after this file is imported).
# A normal event is under 2 KB (the registration form, every field full, about 1.2 KB);
# Reflex's default is 1 MB.  A bigger message closes that connection (SECURITY.md).
os.environ.setdefault("REFLEX_SOCKET_MAX_HTTP_BUFFER_SIZE", str(64 * 1024))

# With the Redis state manager, a worker keeps the state of a tab it serves in
# memory between that tab's events (Reflex's opportunistic lock, held 5 s after
# the last event) instead of a Redis round trip, lock and pickle per event; a
# worker that gets an event of the tab meanwhile asks for the state and the
# holder hands it over through Redis.  One worker: 4.5× less CPU per event
# (bench/load.py, bench/README.md); tests/cluster runs with it.
if _settings.redis_url:
    os.environ.setdefault("REFLEX_OPLOCK_ENABLED", "true")

# The production server: gunicorn with LKK_WORKERS uvicorn processes
# (lkk_app/web/asgi/server.py says why not granian).
os.environ.setdefault("REFLEX_USE_GRANIAN", "false")
os.environ["GUNICORN_CMD_ARGS"] = server_command.gunicorn_args(
    _settings.workers, os.environ.get("GUNICORN_CMD_ARGS", ""))
if server_command.is_reflex_run():
    server_command.forward_termination()

# The split shape (LKK_FRONTEND_URL, README «Demo deployment»): the pages, built
# by `reflex export`, talk to the server at LKK_PUBLIC_URL.
_sites = ({"api_url": _settings.public_url, "deploy_url": _settings.frontend_url}
          if _settings.split_site else {})

config = rx.Config(
    app_name="lkk_app",
    db_url=_settings.db_url,
    redis_url=_settings.redis_url or None,
    telemetry_enabled=False,
    show_built_with_reflex=False,
    cors_allowed_origins=list(_settings.page_origins),
    trusted_proxy_hops=_settings.trusted_proxy_hops,
    # The development server (its /dev/mail shows letters with temporary passwords)
    # listens on loopback only; `HOST=0.0.0.0 make run` or REFLEX_BACKEND_HOST opens it.
    backend_host="0.0.0.0" if _settings.is_production else "127.0.0.1",
    # Plain HTML elements and one stylesheet (assets/lkk.css): no component theme.
    plugins=[],
    disable_plugins=[rx.plugins.SitemapPlugin],
    # The built pages, scripts and stylesheets are stored compressed: brotli for
    # browsers that take it (every current one; ≈ 15 % smaller than gzip), gzip else.
    frontend_compression_formats=["brotli", "gzip"],
    **_sites,
)
