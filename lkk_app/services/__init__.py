"""Plain-Python business logic of the cabinet.

Nothing in this package imports Reflex: every function takes an SQLModel
``Session`` (and a :class:`~lkk_app.settings.Settings` where needed) and
returns values or raises :mod:`lkk_app.services.errors`.  The web layer (Reflex
state, HTTP routes) and the CLI call these functions; tests call them directly.
"""
