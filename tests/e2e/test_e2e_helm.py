"""A values change goes in as users make it, with `helm upgrade` (here
`LocalDeployment.install`, the same command `ci/dev upgrade` runs): the hub
pod is replaced as a Deployment rollout replaces it, a running user's server
keeps running, and `helm rollback` brings the old values back."""

import json

import pytest

from .e2e_support import user_pods
from .test_e2e_hubpod import environ
from .test_e2e_spawn import default_form, logged_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(900)]


def revision(deployment) -> int:
    history = deployment.helm("history", "jhub", "-n", deployment.namespace, "-o", "json")
    return json.loads(history.strip().splitlines()[-1])[-1]["revision"]


def test_helm_upgrade_replaces_the_hub_and_keeps_servers_and_rollback_undoes_it(
    deployment, tmp_path
):
    user = logged_in(deployment, "e2e-helm")
    user.start(form=default_form(user))
    user.open_server(page="api/status")
    (server_pod,) = user_pods(deployment, user.name)
    hub_before = deployment.hub_pod()["metadata"]["name"]
    first = revision(deployment)

    change = tmp_path / "change.yaml"
    change.write_text('hub:\n  extraEnv:\n    E2E_HELM_VALUE: "changed"\n')
    before = deployment.options.values
    deployment.install(values=(*before, change))
    try:
        hub = deployment.wait_hub(hub_before)
        assert revision(deployment) == first + 1
        assert environ(deployment.pid_of("hub")).get("E2E_HELM_VALUE") == "changed"
        # the server lived through the rollout: the same pod, still reachable
        (after,) = user_pods(deployment, user.name)
        assert after["metadata"]["uid"] == server_pod["metadata"]["uid"]
        assert user.get(user.server_url() + "api/status").status_code == 200
        assert user.model()["servers"][""]["ready"]
    finally:
        deployment.options.values = before

    deployment.helm(
        "rollback", "jhub", str(first), "-n", deployment.namespace, "--wait", what="rollback"
    )
    deployment.wait_hub(hub["metadata"]["name"])
    assert "E2E_HELM_VALUE" not in environ(deployment.pid_of("hub"))
    assert revision(deployment) == first + 2
    user.stop()
    assert not user_pods(deployment, user.name)
