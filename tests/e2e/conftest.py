"""Shared set-up of the end-to-end suite: one deployment for the whole
session (each test uses its own usernames)."""

from pathlib import Path

import pytest

from .e2e_support import E2E_VALUES, start_deployment, state_dir

HERE = Path(__file__).resolve().parent

_running = []


@pytest.fixture(scope="session")
def deployment():
    dep = start_deployment(state_dir("session"), values=(E2E_VALUES / "session.yaml",))
    _running.append(dep)
    yield dep
    dep.stop()


def pytest_runtest_teardown(item, nextitem):
    """Stop the shared deployment as soon as the e2e tests are done, not at
    the end of the whole session: other suites run after this one."""
    if _running and (nextitem is None or HERE not in Path(nextitem.path).parents):
        while _running:
            _running.pop().stop()
