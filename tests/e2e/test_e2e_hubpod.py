"""The hub and the proxy run as their rendered Deployments say, and the hub
reaches kubesim the way a pod does (service-account files, KUBERNETES_*)."""

from pathlib import Path

import pytest
from localdeploy.order import find
from localdeploy.podenv import decode_secret
from localdeploy.volumes import SERVICE_ACCOUNT_DIR

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def cmdline(pid: int) -> list[str]:
    return [a.decode() for a in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:-1]]


def test_the_hub_runs_the_rendered_command_with_the_rendered_env(deployment):
    hub = find(deployment.objects, "Deployment", deployment.names["hub"])
    container = hub["spec"]["template"]["spec"]["containers"][0]
    env = environ(deployment.hub.pid)
    argv = cmdline(deployment.hub.pid)
    # unshare and sh exec'd into the hub: the process is the rendered command
    assert Path(argv[1]).name == container["command"][0]
    root = env["Z2JH_CONFIG_ROOT"]
    assert root.startswith(str(deployment.layout.root))
    assert argv[2:] == [a.replace("$(Z2JH_CONFIG_ROOT)", root) for a in container["args"]]
    secret = decode_secret(find(deployment.objects, "Secret", deployment.names["hub"]))
    assert env["CONFIGPROXY_AUTH_TOKEN"] == secret["hub.config.ConfigurableHTTPProxy.auth_token"]
    assert env["POD_NAMESPACE"] == deployment.namespace
    assert (Path(root) / "secret" / "values.yaml").is_file()
    assert (Path(root) / "config" / "resource-names.yaml").is_file()
    assert env["HUB_SERVICE_HOST"] == deployment.hub_address
    assert env["PROXY_API_SERVICE_HOST"] == deployment.proxy_address
    assert env["PROXY_PUBLIC_SERVICE_PORT"] == str(deployment.options.port)


def test_the_hub_talks_to_kubesim_through_the_in_cluster_path(deployment):
    env = environ(deployment.hub.pid)
    server = deployment.client.creds.server
    assert server == f"https://{env['KUBERNETES_SERVICE_HOST']}:{env['KUBERNETES_SERVICE_PORT']}"
    assert "KUBECONFIG" not in env
    mounts = Path(f"/proc/{deployment.hub.pid}/mountinfo").read_text()
    assert any(
        line.split()[4] in (SERVICE_ACCOUNT_DIR, "/run/secrets/kubernetes.io/serviceaccount")
        for line in mounts.splitlines()
    )
    # the bind mount exists only for the hub: this machine's path stays empty
    assert not Path(SERVICE_ACCOUNT_DIR, "token").exists()


def test_the_proxy_keeps_its_rendered_flags_but_listens_on_loopback(deployment):
    proxy = find(deployment.objects, "Deployment", deployment.names["proxy"])
    container = proxy["spec"]["template"]["spec"]["containers"][0]
    argv = cmdline(deployment.proxy.pid)
    listen = {"--ip", "--port", "--api-ip"}
    rendered = container["command"] + (container.get("args") or [])
    kept = [a for a in rendered[1:] if a.split("=")[0] not in listen]
    hub = f"http://{deployment.hub_address}:8081"
    expected = [a.replace("http://$(HUB_SERVICE_HOST):$(HUB_SERVICE_PORT)", hub) for a in kept]
    for arg in expected:
        assert arg in argv
    assert "--ip=127.0.0.1" in argv
    assert f"--port={deployment.options.port}" in argv
    assert f"--api-ip={deployment.proxy_address}" in argv
