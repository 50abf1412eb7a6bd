"""The cabinet's connection to billing: records, the gateway protocol, adapters.

:func:`get_gateway` picks the adapter named by ``LKK_BILLING_ADAPTER``.
Nothing here imports Reflex (tests/unit/test_services_layering.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlalchemy as sa

    from lkk_app.billing.gateway import BillingGateway
    from lkk_app.settings import Settings


def get_gateway(settings: Settings, *, engine: sa.Engine | None = None) -> BillingGateway:
    """The billing gateway for these settings (``demo``: the cabinet's database by default)."""
    from lkk_app.settings import BILLING_HTTP

    if settings.billing_adapter == BILLING_HTTP:
        from lkk_app.billing.adapters.http import HttpBilling

        return HttpBilling(settings.billing_url, settings.billing_token,
                           connect_timeout=settings.billing_connect_timeout,
                           read_timeout=settings.billing_read_timeout)

    from lkk_app.billing.adapters.demo import DemoBilling

    owns = engine is None
    if engine is None:
        from lkk_app import db

        engine = db.make_engine(settings.db_url)
    return DemoBilling(engine, supplier=settings.supplier_name, owns_engine=owns)
