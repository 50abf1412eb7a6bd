"""Accounts and the entry door: users, passwords, sessions, login, registration, recovery.

Nothing here imports Reflex; functions take an SQLModel ``Session`` and return
values or raise :mod:`lkk_app.core.errors`.
"""
