"""Reflex configuration.  The values come from lkk_app.settings, which reads
and validates the LKK_* environment; any rx.Config field can still be
overridden with a REFLEX_* variable."""

import reflex as rx

from lkk_app.settings import get_settings

_settings = get_settings()

config = rx.Config(
    app_name="lkk_app",
    db_url=_settings.db_url,
    redis_url=_settings.redis_url or None,
    telemetry_enabled=False,
    show_built_with_reflex=False,
    cors_allowed_origins=[_settings.public_origin],
    trusted_proxy_hops=_settings.trusted_proxy_hops,
    # Plain HTML elements and one stylesheet (assets/lkk.css): no component theme.
    plugins=[],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
