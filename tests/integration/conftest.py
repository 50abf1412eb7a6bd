"""Integration tests run in this process, each in a clean environment
(``tests/fixtures/environment.py``), against real servers on 127.0.0.1 where
they need one (``smtp_server`` / ``smtp_down``: ``tests/fixtures/mail.py``).
The CPU pools keep their bounds."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _integration_test(isolated_environment):
    pass
