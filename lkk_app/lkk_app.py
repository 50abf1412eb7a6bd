"""The Reflex application: pages, HTTP routes, global style."""

import reflex as rx

from lkk_app import (
    models,  # noqa: F401  (tables must be imported for migrations)
    routes,
)
from lkk_app.components.connection import connection_notice
from lkk_app.components.layout import supplier_colors
from lkk_app.i18n import t
from lkk_app.jobs.worker import background_lifespan
from lkk_app.logs import setup_logging
from lkk_app.state.errors import handle_backend_error
from lkk_app.web.asgi import event_limits, redis_version, security_middleware
from lkk_app.web.http import build_http_app

# One line per record, secrets masked in every record of the process (Reflex's too).
setup_logging()
# The Redis client's version asked once, not at every new connection (the module says why).
redis_version.install()

app = rx.App(
    stylesheets=[routes.STYLESHEET],
    head_components=[
        rx.el.script(src=routes.versioned(routes.SCRIPT), defer=True),
        # Named with its version: a repeat visit takes it from the cache, not asking.
        rx.el.link(rel="icon", href=routes.versioned(routes.FAVICON)),
        rx.el.meta(name="viewport", content="width=device-width, initial-scale=1"),
        rx.el.style(supplier_colors()),
    ],
    html_lang="ru",
    # Failed handlers: one log line and a Russian message in the page, no eval
    # (Reflex's default toast is run through eval, which the CSP forbids).
    backend_exception_handler=handle_backend_error,
    # No toasts: Reflex's toast region is named in English («Notifications alt+T»)
    # and its lost-connection toast is English; components/connection.py says it in Russian.
    toaster=None,
    # The security middleware goes last so that it wraps everything (lkk_app/web/asgi).
    api_transformer=[build_http_app(), security_middleware],
)
app.app_wraps[(5, "Overlay")] = lambda stateful: connection_notice() if stateful else None
# Rates, a cap and a nesting limit in front of Reflex's event queue (SECURITY.md).
event_limits.install(app)

for page in routes.pages():
    app.add_page(page.component, route=page.path, title=t(page.title_key), on_load=page.on_load)

app.register_lifespan_task(background_lifespan)
