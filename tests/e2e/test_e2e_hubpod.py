"""The chart's pods run as a cluster runs them: `helm upgrade --install` put
them into kubesim, whose process runtime runs the hub and the proxy as the
rendered Deployments say, with the image rules of ci/localdeploy/images.yaml;
kubectl shows them with their events and logs."""

import json
import subprocess
from pathlib import Path

import pytest

from localdeploy.components import decode_secret
from localdeploy.paths import KUBECTL
from localdeploy.render import find

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def cmdline(pid: int) -> list[str]:
    return [a.decode() for a in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:-1]]


def mount_points(pid: int) -> set[str]:
    lines = Path(f"/proc/{pid}/mountinfo").read_text().splitlines()
    return {line.split()[4] for line in lines}


def kubectl(deployment, *args: str) -> str:
    proc = subprocess.run(
        [str(KUBECTL), "--kubeconfig", str(deployment.kubeconfig), "-n", deployment.namespace]
        + list(args),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def service_ip(deployment, short: str) -> str:
    service = deployment.client.get("v1", "Service", deployment.names[short], deployment.namespace)
    return service["spec"]["clusterIP"]


def test_kubectl_shows_the_chart_pods_running_with_events_and_logs(deployment):
    pods = json.loads(kubectl(deployment, "get", "pods", "-o", "json"))["items"]
    phases = {p["metadata"]["name"]: p["status"]["phase"] for p in pods}
    for short in ("hub", "proxy", "user-scheduler-deploy"):
        mine = [n for n in phases if n.startswith(deployment.names[short] + "-")]
        assert mine and all(phases[n] == "Running" for n in mine), (short, phases)
    table = kubectl(deployment, "get", "deploy")
    assert "hub" in table and "1/1" in table, table
    assert "Started container hub" in kubectl(deployment, "get", "events")
    assert "JupyterHub" in kubectl(deployment, "logs", "deploy/hub", "--tail=200")
    # the stand-in says what it is
    assert "stand-in for kube-scheduler" in kubectl(deployment, "logs", "deploy/user-scheduler")
    # the LoadBalancer stand-in published proxy-public where the URL points
    svc = kubectl(deployment, "get", "svc", deployment.names["proxy-public"])
    assert "127.0.0.1" in svc, svc


def test_the_hub_runs_the_rendered_command_with_kubesims_env(deployment):
    hub = find(deployment.objects, "Deployment", deployment.names["hub"])
    container = hub["spec"]["template"]["spec"]["containers"][0]
    pid = deployment.pid_of("hub")
    env = environ(pid)
    argv = cmdline(pid)
    # no command: the image's ENTRYPOINT (tini) stays; kubesim's image rule
    # has none (its PID namespace init reaps), so the process is the args
    assert "command" not in container
    root = env["Z2JH_CONFIG_ROOT"]
    assert root == "/usr/local/etc/jupyterhub"  # the image's path, not a host folder
    args = [a.replace("$(Z2JH_CONFIG_ROOT)", root) for a in container["args"]]
    # unshare and sh exec'd into the hub: the process is the rendered command line
    assert Path(argv[1]).name == args[0]
    assert argv[2:] == args[1:]
    # secretKeyRef from the Secret helm installed (its generated values, not helm template's)
    live = deployment.client.get("v1", "Secret", deployment.names["hub"], deployment.namespace)
    token = decode_secret(live)["hub.config.ConfigurableHTTPProxy.auth_token"]
    assert env["CONFIGPROXY_AUTH_TOKEN"] == token
    assert env["POD_NAMESPACE"] == deployment.namespace
    assert env["HOSTNAME"] == deployment.hub_pod()["metadata"]["name"]
    assert env["POD_IP"] == deployment.hub_pod()["status"]["podIP"]
    # Service variables point at the Services' cluster IPs (kubesim's kube-proxy)
    assert env["HUB_SERVICE_HOST"] == service_ip(deployment, "hub")
    assert env["PROXY_API_SERVICE_HOST"] == service_ip(deployment, "proxy-api")
    # the chart's volumes where the pod spec says: values, names, and the hub
    # configuration package (ConfigMap hub, over the image's own copy)
    mounts = mount_points(pid)
    for path in (
        f"{root}/jupyterhub_config.py",
        f"{root}/z2jh.py",
        f"{root}/hubconf",
        f"{root}/config",
        f"{root}/secret",
    ):
        assert path in mounts or path + "/" in mounts, (path, sorted(mounts))


def test_the_hub_talks_to_kubesim_through_the_in_cluster_path(deployment):
    pid = deployment.pid_of("hub")
    env = environ(pid)
    server = deployment.client.creds.server
    assert server == f"https://{env['KUBERNETES_SERVICE_HOST']}:{env['KUBERNETES_SERVICE_PORT']}"
    assert "KUBECONFIG" not in env
    mounts = mount_points(pid)
    assert SERVICE_ACCOUNT_DIR in mounts or "/run/secrets/kubernetes.io/serviceaccount" in mounts
    # the bind mount exists only for the pod: this machine's path stays empty
    assert not Path(SERVICE_ACCOUNT_DIR, "token").exists()


def test_the_proxy_runs_its_rendered_flags_unchanged(deployment):
    proxy = find(deployment.objects, "Deployment", deployment.names["proxy"])
    container = proxy["spec"]["template"]["spec"]["containers"][0]
    pid = deployment.pid_of("proxy")
    argv = cmdline(pid)
    hub = f"http://{service_ip(deployment, 'hub')}:8081"
    rendered = container["command"] + (container.get("args") or [])
    expected = [a.replace("http://$(HUB_SERVICE_HOST):$(HUB_SERVICE_PORT)", hub) for a in rendered]
    assert argv[-len(expected) + 1 :] == expected[1:], argv
    # `--ip=` (every interface) lands on the pod's own address (kubesim's Node shim)
    ip = deployment.pods_of("proxy")[0]["status"]["podIP"]
    listening = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True).stdout
    assert f"{ip}:8000" in listening and f"{ip}:8001" in listening, listening
