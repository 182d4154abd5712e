"""Server-side apply: atomic maps and lists are replaced, associative lists merge by key.

kubesim keeps no field ownership (see the README); what matters to clients is
that an applied selector replaces the stored one, so a `helm upgrade` (helm 4
applies) or `kubectl apply --server-side` that changes a selector is refused
like on a real cluster instead of being merged into an unchanged selector.
"""

import asyncio
import os

import pytest

from kubesim.testing import raw_request

from .test_helm import HELMS
from .test_kubectl import KUBECTL, kubectl

APPLY = "application/apply-patch+yaml"
DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"


def deployment(labels, image="busybox:1", **container):
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [{"name": "c", "image": image, **container}],
                    "tolerations": [{"key": "a", "operator": "Exists"}],
                },
            },
        },
    }


async def apply(sim, body):
    return await raw_request(
        sim, "PATCH", f"{DEPLOYMENTS}/d", body, APPLY, params={"fieldManager": "t"}
    )


async def test_apply_replaces_the_selector_so_dropping_a_key_is_refused(sim):
    code, _ = await apply(sim, deployment({"app": "d", "tier": "web"}))
    assert code == 201
    code, status = await apply(sim, deployment({"app": "d"}))
    assert code == 422
    assert status["message"] == (
        'Deployment.apps "d" is invalid: spec.selector: Invalid value: v1.LabelSelector'
        '{MatchLabels:map[string]string{"app":"d"}, '
        "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"
    )


async def test_apply_merges_lists_by_key_and_replaces_atomic_lists(sim):
    body = deployment(
        {"app": "d"}, ports=[{"containerPort": 80}], env=[{"name": "A", "value": "1"}]
    )
    assert (await apply(sim, body))[0] == 201
    again = deployment({"app": "d"}, image="busybox:2", env=[{"name": "B", "value": "2"}])
    again["spec"]["template"]["spec"]["tolerations"] = [{"key": "b", "operator": "Exists"}]
    code, answer = await apply(sim, again)
    assert code == 200, answer
    pod_spec = answer["spec"]["template"]["spec"]
    (container,) = pod_spec["containers"]  # merged by name, not appended
    assert container["image"] == "busybox:2"
    assert container["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert [e["name"] for e in container["env"]] == ["A", "B"]
    keys = [t["key"] for t in pod_spec["tolerations"]]
    assert "a" not in keys and "b" in keys  # tolerations are an atomic list


async def test_apply_with_the_ports_protocol_left_out_keeps_one_port(sim):
    body = deployment({"app": "d"}, ports=[{"containerPort": 80}])
    await apply(sim, body)
    code, answer = await apply(sim, body)
    assert code == 200
    assert len(answer["spec"]["template"]["spec"]["containers"][0]["ports"]) == 1


@pytest.mark.skipif(not KUBECTL.exists(), reason="kubectl not installed (ci/setup)")
async def test_kubectl_apply_server_side_selector_change_is_refused(sim, tmp_path):
    import json

    manifest = tmp_path / "d.json"
    manifest.write_text(json.dumps(deployment({"app": "d", "tier": "web"})))
    assert "serverside-applied" in await kubectl(sim, "apply", "--server-side", "-f", str(manifest))
    manifest.write_text(json.dumps(deployment({"app": "d"})))
    code, _, err = await kubectl(sim, "apply", "--server-side", "-f", str(manifest), check=False)
    assert code != 0
    assert 'The Deployment "d" is invalid: spec.selector: Invalid value:' in err
    assert "field is immutable" in err


CHART_YAML = "apiVersion: v2\nname: sel\nversion: 0.1.0\n"
TEMPLATE = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: sel
spec:
  selector:
    matchLabels:
{{- toYaml .Values.labels | nindent 6 }}
  template:
    metadata:
      labels:
{{- toYaml .Values.labels | nindent 8 }}
    spec:
      containers: [{name: c, image: "busybox:1.36"}]
"""


async def test_helm4_upgrade_that_changes_a_selector_fails(sim, tmp_path):
    binary = HELMS["helm4"]
    if not binary.exists():
        pytest.skip(f"{binary} not installed (ci/setup)")
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(CHART_YAML)
    (chart / "templates" / "d.yaml").write_text(TEMPLATE)
    (chart / "values.yaml").write_text("labels: {app: sel, release: one}\n")
    env = {**os.environ, "KUBECONFIG": str(sim.kubeconfig_path), "HOME": str(sim.state_dir)}

    async def run(*args):
        process = await asyncio.create_subprocess_exec(
            str(binary),
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        out, err = await asyncio.wait_for(process.communicate(), 120)
        return process.returncode, out.decode() + err.decode()

    code, out = await run("upgrade", "--install", "sel", str(chart))
    assert code == 0, out
    code, out = await run("upgrade", "sel", str(chart), "--set", "labels.release=null")
    assert code != 0
    assert "spec.selector: Invalid value" in out and "field is immutable" in out
    stored = sim.get("deployments.apps", "sel", "default")["spec"]["selector"]
    assert stored == {"matchLabels": {"app": "sel", "release": "one"}}
