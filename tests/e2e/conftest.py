"""Shared set-up of the end-to-end suite: the `localdeploy` machinery (in
ci/) and this folder's helpers importable, and one deployment for the whole
session (each test uses its own usernames)."""

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
for path in (ROOT / "ci", HERE):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from e2e_support import E2E_VALUES, start_deployment, state_dir  # noqa: E402

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
