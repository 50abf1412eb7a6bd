"""The Reflex application: pages, HTTP routes, global style."""

import reflex as rx

from lkk_app import models  # noqa: F401  (tables must be imported for migrations)
from lkk_app.http_routes import build_http_app
from lkk_app.i18n import t
from lkk_app.pages.login import login_page
from lkk_app.pages.placeholder import forgot_page, register_page
from lkk_app.pages.profile import profile_page
from lkk_app.state.login import LoginState
from lkk_app.state.profile import ProfileState

app = rx.App(
    stylesheets=["/lkk.css"],
    head_components=[
        rx.el.script(src="/lkk.js", defer=True),
        rx.el.meta(name="viewport", content="width=device-width, initial-scale=1"),
    ],
    html_lang="ru",
    api_transformer=build_http_app(),
)

app.add_page(login_page, route="/", title=t("login.title"), on_load=LoginState.on_load)
app.add_page(profile_page, route="/profile", title=t("profile.title"), on_load=ProfileState.on_load)
app.add_page(register_page, route="/register", title=t("login.register"))
app.add_page(forgot_page, route="/forgot", title=t("login.forgot"))
