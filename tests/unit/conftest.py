"""Unit tests run in this process, each in a clean environment, with the CPU
pools' bounds off (``tests/fixtures/environment.py``) except in
``test_cpu_pools.py``, which tests them.  The fixtures come from
``tests/fixtures/`` (databases, settings, clock, users) and the data from
``tests/factories.py``."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _unit_test(request, isolated_environment):
    if not request.module.__name__.endswith("test_cpu_pools"):
        request.getfixturevalue("roomy_cpu_pools")
