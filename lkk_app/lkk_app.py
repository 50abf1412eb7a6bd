"""The Reflex application: pages, HTTP routes, global style."""

import reflex as rx

from lkk_app import models  # noqa: F401  (tables must be imported for migrations)
from lkk_app.http_routes import build_http_app
from lkk_app.security_headers import security_headers
from lkk_app import event_limits
from lkk_app.jobs.worker import background_lifespan
from lkk_app.i18n import t
from lkk_app.logs import setup_logging
from lkk_app.pages.login import login_page
from lkk_app.pages.confirm import confirm_failed_page
from lkk_app.pages.forgot import forgot_page
from lkk_app.pages.change_password import change_password_page
from lkk_app.pages.register import register_page
from lkk_app.pages.support import support_page
from lkk_app.pages.profile import profile_page
from lkk_app.state.login import LoginState
from lkk_app.state.profile import ProfileState
from lkk_app.state.register import RegisterState
from lkk_app.state.support import SupportState
from lkk_app.state.confirm import ConfirmFailedState
from lkk_app.state.forgot import ForgotState
from lkk_app.state.change_password import ChangePasswordState
from lkk_app.state.errors import handle_backend_error

setup_logging()

app = rx.App(
    stylesheets=["/lkk.css"],
    head_components=[
        rx.el.script(src="/lkk.js", defer=True),
        rx.el.meta(name="viewport", content="width=device-width, initial-scale=1"),
    ],
    html_lang="ru",
    # Failed handlers: one log line and a Russian message in the page, no eval
    # (Reflex's default toast is run through eval, which the CSP forbids).
    backend_exception_handler=handle_backend_error,
    # The security middleware goes last so that it wraps everything (SECURITY.md).
    api_transformer=[build_http_app(), security_headers],
)
# Rates, a cap and a nesting limit in front of Reflex's event queue (SECURITY.md).
event_limits.install(app)

app.add_page(login_page, route="/", title=t("login.title"), on_load=LoginState.on_load)
app.add_page(profile_page, route="/profile", title=t("profile.title"), on_load=ProfileState.on_load)
app.add_page(register_page, route="/register", title=t("register.title"), on_load=RegisterState.on_load)
app.add_page(support_page, route="/support", title=t("support.title"), on_load=SupportState.on_load)
app.add_page(confirm_failed_page, route="/confirm-failed", title=t("confirm.bad_title"), on_load=ConfirmFailedState.on_load)
app.add_page(forgot_page, route="/forgot", title=t("login.forgot"), on_load=ForgotState.on_load)
app.add_page(change_password_page, route="/change-password", title=t("change.title"),
             on_load=ChangePasswordState.on_load)

app.register_lifespan_task(background_lifespan)
