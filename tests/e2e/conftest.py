"""Shared set-up of the end-to-end suite: the `localdeploy` machinery (in
ci/) and this folder's helpers importable, and one deployment for the whole
session (each test uses its own usernames)."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
for path in (ROOT / "ci", Path(__file__).parent):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from e2e_support import E2E_VALUES, start_deployment, state_dir  # noqa: E402


@pytest.fixture(scope="session")
def deployment():
    dep = start_deployment(state_dir("session"), values=(E2E_VALUES / "session.yaml",))
    yield dep
    dep.stop()
