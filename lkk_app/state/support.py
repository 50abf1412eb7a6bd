"""«Служба поддержки»: the supplier's information desk, from the settings."""

import reflex as rx

from lkk_app.settings import get_settings


class SupportState(rx.State):
    supplier_name: str = ""
    phones: list[str] = []
    phone_links: list[str] = []
    hours: str = ""
    email: str = ""

    @rx.event
    def on_load(self):
        s = get_settings()
        self.supplier_name = s.supplier_name
        self.phones = list(s.support_phones)
        self.phone_links = ["tel:" + "".join(c for c in p if c.isdigit() or c == "+")
                            for p in s.support_phones]
        self.hours = s.support_hours
        self.email = s.support_email
