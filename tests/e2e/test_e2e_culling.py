"""The idle culler, a hub-managed service, stops a server nobody uses. It
gets a deployment of its own with a short timeout: on the shared one it
would stop other tests' servers."""

import pytest

from .e2e_support import (
    E2E_VALUES,
    start_deployment,
    state_dir,
    user_claims,
    user_pods,
    wait_server_stopped,
)
from .test_e2e_spawn import default_form, logged_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def fast_culling():
    dep = start_deployment(state_dir("culling"), values=(E2E_VALUES / "fast-cull.yaml",))
    yield dep
    dep.stop()


def test_an_idle_server_is_culled(fast_culling):
    assert fast_culling.values["cull"]["timeout"] == 10
    user = logged_in(fast_culling, "e2e-idle")
    user.start(form=default_form(user))
    assert user_pods(fast_culling, user.name)
    # nobody touches it: the culler stops it (timeout 10 s, checked every 5 s)
    wait_server_stopped(fast_culling, user, "the culler stopped the server")
    assert len(user_claims(fast_culling, user.name)) == 1  # culling keeps the user's data
