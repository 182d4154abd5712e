"""helm 3 and helm 4 against kubesim: upgrade --install, lookup across upgrades, uninstall.

Helm 3 stores releases through client-go's typed client in protobuf (kubesim
decodes Secret/ConfigMap/DeleteOptions); helm 4 applies with server-side apply.
"""

import asyncio
import base64
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HELMS = {"helm3": ROOT / ".bin" / "helm", "helm4": ROOT / ".bin" / "helm4" / "helm"}

CHART = {
    "Chart.yaml": "apiVersion: v2\nname: spike\nversion: 0.1.0\n",
    "templates/all.yaml": """\
{{- $existing := lookup "v1" "Secret" .Release.Namespace "spike-secret" }}
apiVersion: v1
kind: Secret
metadata:
  name: spike-secret
data:
  token: {{ if $existing }}{{ index $existing.data "token" }}{{ else }}{{ randAlphaNum 32 | b64enc }}{{ end }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: spike-config
data:
  revision: "{{ .Release.Revision }}"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: spike
spec:
  selector: {matchLabels: {app: spike}}
  template:
    metadata: {labels: {app: spike}}
    spec:
      containers: [{name: c, image: "busybox:1.36"}]
""",
}


async def helm(binary, sim, *args):
    env = {
        **os.environ,
        "KUBECONFIG": str(sim.kubeconfig_path),
        "HOME": str(sim.state_dir),
        "HELM_CACHE_HOME": str(sim.state_dir / "helm-cache"),
    }
    process = await asyncio.create_subprocess_exec(
        str(binary),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, f"helm {' '.join(args)}: {err.decode()}"
    return out.decode()


@pytest.mark.parametrize("name", sorted(HELMS))
async def test_upgrade_install_keeps_looked_up_secret(sim, tmp_path, name):
    binary = HELMS[name]
    if not binary.exists():
        pytest.skip(f"{binary} not installed (ci/setup)")
    chart = tmp_path / "chart"
    for path, text in CHART.items():
        (chart / path).parent.mkdir(parents=True, exist_ok=True)
        (chart / path).write_text(text)
    await helm(binary, sim, "upgrade", "--install", "spike", str(chart))
    first = sim.get("secrets", "spike-secret", "default")["data"]["token"]
    assert len(base64.b64decode(first)) == 32
    await helm(binary, sim, "upgrade", "--install", "spike", str(chart))
    assert sim.get("secrets", "spike-secret", "default")["data"]["token"] == first
    assert sim.get("configmaps", "spike-config", "default")["data"]["revision"] == "2"
    releases = sim.objects("secrets", "default", label_selector="owner=helm,name=spike")
    assert len(releases) == 2
    await helm(binary, sim, "uninstall", "spike")
    assert sim.get("secrets", "spike-secret", "default") is None
    assert sim.get("deployments.apps", "spike", "default") is None
    assert sim.objects("secrets", "default", label_selector="owner=helm") == []


@pytest.mark.parametrize("name", sorted(HELMS))
async def test_wait_for_deployment_with_controllers(kubesim_factory, tmp_path, name):
    binary = HELMS[name]
    if not binary.exists():
        pytest.skip(f"{binary} not installed (ci/setup)")
    sim = await kubesim_factory(nodes=1, controllers=True)
    chart = tmp_path / "chart"
    for path, text in CHART.items():
        (chart / path).parent.mkdir(parents=True, exist_ok=True)
        (chart / path).write_text(text)
    await helm(
        binary, sim, "upgrade", "--install", "spike", str(chart), "--wait", "--timeout", "60s"
    )
    status = sim.get("deployments.apps", "spike", "default")["status"]
    assert status["readyReplicas"] == 1
