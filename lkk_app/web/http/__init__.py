"""HTTP routes beside the Reflex app (``rx.App(api_transformer=...)``), one
module per area; each handler only translates a request into a use case of
``lkk_app.auth`` and its outcome into a response."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Route

from lkk_app import routes
from lkk_app.settings import get_settings
from lkk_app.web.http import auth, captcha, confirm, dev_mail, documents, supplier


def build_http_app() -> Starlette:
    dev_routes = ([] if get_settings().is_production
                  else [Route(routes.DEV_MAIL, dev_mail.dev_mail, methods=["GET"])])
    demo_routes = ([Route(routes.DEMO_MAIL, dev_mail.demo_mail, methods=["GET"])]
                   if get_settings().demo_mailbox else [])
    return Starlette(routes=[
        *dev_routes,
        *demo_routes,
        Route(routes.AUTH_LOGIN, auth.login, methods=["POST"]),
        Route(routes.AUTH_LOGOUT, auth.logout, methods=["POST"]),
        Route(routes.AUTH_RESEND, auth.resend_confirmation, methods=["POST"]),
        Route(routes.CONFIRM_LINK, confirm.link_page, methods=["GET"]),
        Route(routes.CONFIRM_LINK, confirm.confirm_email, methods=["POST"]),
        Route(routes.CAPTCHA_AUDIO, captcha.captcha_audio_file, methods=["GET"]),
        Route(routes.DOCUMENT_FILE, documents.document_file, methods=["GET"]),
        Route(routes.DOCUMENTS_ZIP, documents.documents_zip, methods=["GET"]),
        Route(routes.SUPPLIER_LOGO, supplier.supplier_logo, methods=["GET"]),
    ])
