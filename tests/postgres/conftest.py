"""Adds the server log tail to the report of a failing test (tests/postgres)."""

from __future__ import annotations

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        from pgserver import PgServer

        for server in PgServer.running():
            rep.sections.append((f"server log tail ({server.log_path})", server.log_tail(40)))
