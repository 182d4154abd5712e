"""Server-side apply: field ownership per manager, atomic selectors, associative lists.

An applied selector replaces the stored one, so a `helm upgrade` (helm 4 applies)
or `kubectl apply --server-side` that changes a selector is refused like on a real
cluster instead of being merged into an unchanged selector; fields a manager no
longer applies go; other managers' fields conflict (409) unless forced.
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


async def apply(sim, body, manager="t", force=False):
    params = {"fieldManager": manager, **({"force": "true"} if force else {})}
    return await raw_request(sim, "PATCH", f"{DEPLOYMENTS}/d", body, APPLY, params=params)


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


async def test_an_apply_removes_what_its_manager_no_longer_applies(sim):
    body = deployment(
        {"app": "d"}, ports=[{"containerPort": 80}], env=[{"name": "A", "value": "1"}]
    )
    assert (await apply(sim, body))[0] == 201
    partial = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "c", "env": [{"name": "B", "value": "2"}]}]}
            }
        },
    }
    code, answer = await apply(sim, partial, manager="other")
    assert code == 200, answer
    env = answer["spec"]["template"]["spec"]["containers"][0]["env"]
    assert [e["name"] for e in env] == ["A", "B"]  # merged by name
    again = deployment({"app": "d"}, image="busybox:2")
    again["spec"]["template"]["spec"]["tolerations"] = [{"key": "b", "operator": "Exists"}]
    code, answer = await apply(sim, again)
    assert code == 200, answer
    pod_spec = answer["spec"]["template"]["spec"]
    (container,) = pod_spec["containers"]
    assert container["image"] == "busybox:2"
    assert "ports" not in container  # "t" applied it before and no longer does
    assert [e["name"] for e in container["env"]] == ["B"]  # "other" still owns B
    assert [t["key"] for t in pod_spec["tolerations"]][:1] == ["b"]  # an atomic list
    managers = {(m["manager"], m["operation"]) for m in answer["metadata"]["managedFields"]}
    assert managers == {("t", "Apply"), ("other", "Apply")}
    mine = next(m for m in answer["metadata"]["managedFields"] if m["manager"] == "t")
    assert mine["fieldsType"] == "FieldsV1"
    assert mine["fieldsV1"]["f:spec"]["f:selector"] == {}
    assert (
        "f:image"
        in mine["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"c"}']
    )


async def test_conflicts_with_other_managers_unless_forced(sim):
    await apply(sim, deployment({"app": "d"}))
    code, status = await apply(sim, deployment({"app": "d"}, image="busybox:3"), manager="other")
    assert code == 409
    assert status["reason"] == "Conflict"
    assert status["message"] == (
        'Apply failed with 1 conflict: conflict with "t": '
        '.spec.template.spec.containers[name="c"].image'
    )
    assert status["details"]["causes"][0]["field"] == (
        '.spec.template.spec.containers[name="c"].image'
    )
    code, answer = await apply(
        sim, deployment({"app": "d"}, image="busybox:3"), manager="other", force=True
    )
    assert code == 200
    assert answer["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox:3"
    # the image moved to "other": "t" applying its old image now conflicts the other way
    code, status = await apply(sim, deployment({"app": "d"}))
    assert code == 409 and 'conflict with "other"' in status["message"]


async def test_update_managers_are_recorded_and_conflict(sim):
    await apply(sim, deployment({"app": "d"}))
    code, _ = await raw_request(
        sim,
        "PATCH",
        f"{DEPLOYMENTS}/d",
        {"spec": {"replicas": 3}},
        "application/merge-patch+json",
        params={"fieldManager": "scaler"},
    )
    assert code == 200
    stored = sim.get("deployments.apps", "d", "default")
    entries = {(m["manager"], m["operation"]) for m in stored["metadata"]["managedFields"]}
    assert ("scaler", "Update") in entries
    body = deployment({"app": "d"})
    body["spec"]["replicas"] = 5
    body["spec"]["template"]["spec"]["containers"][0]["image"] = "busybox:9"
    code, status = await apply(sim, body)
    assert code == 409
    assert status["message"] == (
        'Apply failed with 1 conflict: conflict with "scaler" using apps/v1: .spec.replicas'
    )


async def test_apply_needs_a_field_manager(sim):
    code, status = await raw_request(
        sim, "PATCH", f"{DEPLOYMENTS}/d", deployment({"app": "d"}), APPLY
    )
    assert code == 422
    assert status["message"] == (
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required '
        "for apply patch"
    )


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


@pytest.mark.skipif(not KUBECTL.exists(), reason="kubectl not installed (ci/setup)")
async def test_kubectl_server_side_conflicts_and_force(sim, tmp_path):
    import json

    manifest = tmp_path / "d.json"
    manifest.write_text(json.dumps(deployment({"app": "d"})))
    await kubectl(sim, "apply", "--server-side", "--field-manager=first", "-f", str(manifest))
    manifest.write_text(json.dumps(deployment({"app": "d"}, image="busybox:2")))
    args = ("apply", "--server-side", "--field-manager=second", "-f", str(manifest))
    code, _, err = await kubectl(sim, *args, check=False)
    assert code != 0
    assert 'Apply failed with 1 conflict: conflict with "first"' in err
    assert '.spec.template.spec.containers[name="c"].image' in err
    assert "serverside-applied" in await kubectl(sim, *args, "--force-conflicts")
    stored = sim.get("deployments.apps", "d", "default")
    assert stored["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox:2"


def test_fields_v1_round_trip():
    from kubesim.api import fieldmanager, schemas

    obj = deployment({"app": "d"}, env=[{"name": "A", "value": "1"}])
    obj["metadata"]["labels"] = {"team": "x"}
    schema = schemas.kind_schema("1.33", "Deployment", "apps/v1")
    fields = fieldmanager.field_set(obj, schema, "1.33")
    encoded = fieldmanager.encode(fields)
    assert fieldmanager.decode(encoded) == fields
    container = encoded["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"c"}']
    assert container["."] == {} and container["f:env"]['k:{"name":"A"}']["f:value"] == {}
    assert encoded["f:metadata"] == {"f:labels": {"f:team": {}}}
    assert encoded["f:spec"]["f:selector"] == {}  # atomic: one leaf
