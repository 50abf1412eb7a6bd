"""«Служба поддержки»: the supplier's information desk, from the settings."""

import reflex as rx

from lkk_app.auth.validation import format_phone, phone_link
from lkk_app.settings import get_settings


class SupportState(rx.State):
    supplier_name: str = ""
    phones: list[str] = []
    phone_links: list[str] = []
    hours: str = ""
    address: str = ""
    email: str = ""

    @rx.event
    def on_load(self):
        s = get_settings()
        self.supplier_name = s.supplier_name
        self.phones = [format_phone(p) for p in s.support_phones]
        self.phone_links = [phone_link(p) for p in s.support_phones]
        self.hours = s.support_hours
        self.address = s.supplier.address
        self.email = s.support_email
