"""The page a used, expired or unknown confirmation link leads to."""

import reflex as rx

from lkk_app.i18n import t

REASONS = {"used": "confirm.used", "expired": "confirm.expired", "replaced": "confirm.replaced"}


class ConfirmFailedState(rx.State):
    reason_text: str = ""

    @rx.event
    def on_load(self):
        reason = self.router.url.query_parameters.get("reason", "")
        self.reason_text = t(REASONS.get(reason, "confirm.unknown"))
