"""Adapters behind :class:`lkk_app.billing.gateway.BillingGateway`: ``demo`` and ``http``."""
