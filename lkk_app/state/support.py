"""«Служба поддержки»: the supplier's information desk, from the settings —
in the cabinet's frame for someone logged in (with the way back to the tab
they came from), in the login window's card for anyone else."""

import reflex as rx

from lkk_app import routes
from lkk_app.auth.validation import format_phone, phone_link
from lkk_app.settings import get_settings
from lkk_app.state.base import AuthState

# The tabs a link back may lead to (``?back=`` from the cabinet's header).
_TAB_PATHS = frozenset(tab.path for tab in routes.TABS)


class SupportState(AuthState):
    supplier_name: str = ""
    phones: list[str] = []
    phone_links: list[str] = []
    hours: str = ""
    address: str = ""
    email: str = ""
    checked: bool = False  # whether someone is logged in is known
    signed_in: bool = False
    back_path: str = routes.CABINET_HOME

    @rx.event
    async def on_load(self):
        s = get_settings()
        self.supplier_name = s.supplier_name
        self.phones = [format_phone(p) for p in s.support_phones]
        self.phone_links = [phone_link(p) for p in s.support_phones]
        self.hours = s.support_hours
        self.address = s.supplier.address
        self.email = s.support_email
        back = str(self.router.url.query_parameters.get("back", ""))
        self.back_path = back if back in _TAB_PATHS else routes.CABINET_HOME
        self.signed_in = await self._current_user() is not None
        self.checked = True
