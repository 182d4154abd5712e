"""PATCH: strategic merge (keyed lists from the OpenAPI schema), JSON merge, JSON patch."""

import json

import pytest
from kubernetes_asyncio.client.rest import ApiException

from kubesim.testing import pod_body, raw_request


def spec_pod():
    body = pod_body("p")
    body["spec"]["containers"] = [
        {
            "name": "main",
            "image": "busybox:1",
            "env": [{"name": "A", "value": "1"}],
            "volumeMounts": [{"name": "data", "mountPath": "/data"}],
        },
        {"name": "side", "image": "busybox:1"},
    ]
    body["spec"]["volumes"] = [{"name": "data", "emptyDir": {}}]
    return body


def deployment():
    """Pods are immutable, so strategic merge of a PodSpec is exercised on a template."""
    template = spec_pod()
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {
            "selector": {"matchLabels": {"app": "d"}},
            "template": {"metadata": {"labels": {"app": "d"}}, "spec": template["spec"]},
        },
    }


DEPLOYMENT = "/apis/apps/v1/namespaces/default/deployments/d"
SMP = "application/strategic-merge-patch+json"


async def raw_patch(sim, path, body, content_type):
    status, answer = await raw_request(sim, "PATCH", path, body, content_type)
    if status >= 400:
        error = ApiException(status=status, reason=answer["reason"])
        error.body = json.dumps(answer)
        raise error
    return answer


async def test_strategic_merge_merges_containers_env_and_mounts_by_key(sim):
    await sim.store.create("deployments.apps", deployment(), "default")
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "main",
                            "image": "busybox:2",
                            "env": [{"name": "B", "value": "2"}],
                            "volumeMounts": [{"name": "cache", "mountPath": "/cache"}],
                        }
                    ],
                    "volumes": [{"name": "cache", "emptyDir": {}}],
                }
            }
        }
    }
    await raw_patch(sim, DEPLOYMENT, patch, SMP)
    spec = sim.get("deployments.apps", "d", "default")["spec"]["template"]["spec"]
    main, side = spec["containers"]
    assert main["image"] == "busybox:2" and side["name"] == "side"
    assert main["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    assert [m["mountPath"] for m in main["volumeMounts"]] == ["/data", "/cache"]
    assert [v["name"] for v in spec["volumes"]] == ["data", "cache"]


async def test_strategic_merge_directives(sim):
    await sim.store.create("deployments.apps", deployment(), "default")
    patch = {
        "metadata": {"labels": {"a": "b"}},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "main", "env": [{"name": "A", "$patch": "delete"}]},
                        {"name": "side", "$patch": "delete"},
                    ],
                }
            }
        },
    }
    await raw_patch(sim, DEPLOYMENT, patch, SMP)
    obj = sim.get("deployments.apps", "d", "default")
    containers = obj["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["main"]
    assert containers[0].get("env", []) == []
    assert obj["metadata"]["labels"] == {"a": "b"}
    replace = {
        "spec": {
            "template": {
                "spec": {"volumes": [{"$patch": "replace"}, {"name": "only", "emptyDir": {}}]}
            }
        }
    }
    with pytest.raises(ApiException) as err:  # the mount now points at a missing volume
        await raw_patch(sim, DEPLOYMENT, replace, SMP)
    assert err.value.status == 422


async def test_merge_patch_replaces_whole_lists(sim):
    await sim.store.create("deployments.apps", deployment(), "default")
    patch = {
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "solo", "image": "busybox:3"}], "volumes": None}
            }
        }
    }
    await raw_patch(sim, DEPLOYMENT, patch, "application/merge-patch+json")
    spec = sim.get("deployments.apps", "d", "default")["spec"]["template"]["spec"]
    assert [c["name"] for c in spec["containers"]] == ["solo"]
    assert "volumes" not in spec


async def test_json_merge_patch_replaces_lists(api, sim):
    await sim.store.create(
        "configmaps",
        {"metadata": {"name": "c", "labels": {"x": "1", "y": "2"}}, "data": {"k": "v"}},
        "default",
    )
    await raw_patch(
        sim,
        "/api/v1/namespaces/default/configmaps/c",
        {"metadata": {"labels": {"x": None, "z": "3"}}, "data": {"k2": "v2"}},
        "application/merge-patch+json",
    )
    cm = sim.get("configmaps", "c", "default")
    assert cm["metadata"]["labels"] == {"y": "2", "z": "3"}
    assert cm["data"] == {"k": "v", "k2": "v2"}


async def test_json_patch_operations(api, sim):
    await sim.store.create("configmaps", {"metadata": {"name": "c"}, "data": {"a": "1"}}, "default")
    ops = [
        {"op": "test", "path": "/data/a", "value": "1"},
        {"op": "add", "path": "/data/b", "value": "2"},
        {"op": "replace", "path": "/data/a", "value": "9"},
        {"op": "add", "path": "/metadata/annotations", "value": {}},
        {"op": "add", "path": "/metadata/annotations/example.com~1x", "value": "y"},
    ]
    await raw_patch(
        sim, "/api/v1/namespaces/default/configmaps/c", ops, "application/json-patch+json"
    )
    cm = sim.get("configmaps", "c", "default")
    assert cm["data"] == {"a": "9", "b": "2"}
    assert cm["metadata"]["annotations"] == {"example.com/x": "y"}
    with pytest.raises(ApiException) as err:
        await raw_patch(
            sim,
            "/api/v1/namespaces/default/configmaps/c",
            [{"op": "test", "path": "/data/a", "value": "1"}],
            "application/json-patch+json",
        )
    assert err.value.status == 422


async def test_patch_with_stale_resource_version_conflicts(api, sim):
    created = await sim.store.create("configmaps", {"metadata": {"name": "c"}}, "default")
    await sim.store.patch("configmaps", "c", {"data": {"a": "1"}}, "merge", "default")
    with pytest.raises(ApiException) as err:
        await raw_patch(
            sim,
            "/api/v1/namespaces/default/configmaps/c",
            {
                "metadata": {"resourceVersion": created["metadata"]["resourceVersion"]},
                "data": {"a": "2"},
            },
            "application/merge-patch+json",
        )
    assert err.value.status == 409


async def test_patch_result_is_validated(api, sim):
    await sim.store.create("pods", spec_pod(), "default")
    with pytest.raises(ApiException) as err:
        await raw_patch(
            sim,
            "/api/v1/namespaces/default/pods/p",
            {"metadata": {"labels": {"bad key": "x"}}},
            "application/strategic-merge-patch+json",
        )
    assert err.value.status == 422
    assert json.loads(err.value.body)["details"]["causes"][0]["field"] == "metadata.labels"


async def test_patch_status_subresource(core, sim):
    await sim.store.create("pods", spec_pod(), "default")
    pod = await core.patch_namespaced_pod_status(
        "p", "default", {"status": {"phase": "Running", "podIP": "10.0.0.5"}}
    )
    assert pod.status.phase == "Running" and pod.status.pod_ip == "10.0.0.5"
