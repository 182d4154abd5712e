"""Create/get/replace/delete through kubernetes_asyncio's real API classes."""

import json

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.rest import ApiException

from kubesim.testing import pod_body, raw_request


def status_of(exc: ApiException) -> dict:
    return json.loads(exc.body)


async def test_server_sets_metadata_and_defaults(core):
    created = await core.create_namespaced_pod("default", pod_body("a"))
    meta = created.metadata
    assert meta.uid and meta.creation_timestamp is not None
    assert meta.generation == 1
    assert meta.namespace == "default"
    assert created.spec.scheduler_name == "default-scheduler"
    assert created.spec.restart_policy == "Always"
    assert created.status.phase == "Pending"
    second = await core.create_namespaced_pod("default", pod_body("b"))
    assert int(second.metadata.resource_version) > int(meta.resource_version)


async def test_generate_name(core):
    body = pod_body("")
    body["metadata"] = {"generateName": "worker-"}
    created = await core.create_namespaced_pod("default", body)
    assert created.metadata.name.startswith("worker-")
    assert len(created.metadata.name) == len("worker-") + 5


async def test_already_exists_and_not_found_are_status_objects(core):
    await core.create_namespaced_pod("default", pod_body("dup"))
    with pytest.raises(ApiException) as err:
        await core.create_namespaced_pod("default", pod_body("dup"))
    body = status_of(err.value)
    assert err.value.status == 409
    assert body["kind"] == "Status" and body["reason"] == "AlreadyExists"
    assert body["details"] == {"name": "dup", "kind": "pods"}
    with pytest.raises(ApiException) as err:
        await core.read_namespaced_pod("nope", "default")
    assert err.value.status == 404
    assert status_of(err.value)["message"] == 'pods "nope" not found'


async def test_namespace_in_body_must_match_url(core):
    body = pod_body("x")
    body["metadata"]["namespace"] = "kube-system"
    with pytest.raises(ApiException) as err:
        await core.create_namespaced_pod("default", body)
    assert err.value.status == 400
    assert status_of(err.value)["reason"] == "BadRequest"


async def test_missing_namespace_is_404(core):
    with pytest.raises(ApiException) as err:
        await core.create_namespaced_config_map("ghost", {"metadata": {"name": "c"}})
    assert err.value.status == 404
    assert status_of(err.value)["message"] == 'namespaces "ghost" not found'


async def test_replace_with_stale_resource_version_conflicts(core):
    cm = await core.create_namespaced_config_map(
        "default", {"metadata": {"name": "cfg"}, "data": {"k": "1"}}
    )
    cm.data = {"k": "2"}
    updated = await core.replace_namespaced_config_map("cfg", "default", cm)
    assert updated.data == {"k": "2"}
    assert updated.metadata.resource_version != cm.metadata.resource_version
    cm.data = {"k": "3"}  # still carries the old resourceVersion
    with pytest.raises(ApiException) as err:
        await core.replace_namespaced_config_map("cfg", "default", cm)
    assert err.value.status == 409
    assert status_of(err.value)["reason"] == "Conflict"
    assert "the object has been modified" in status_of(err.value)["message"]


async def test_generation_moves_with_spec_not_metadata(api):
    apps = client.AppsV1Api(api)
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {
            "selector": {"matchLabels": {"app": "d"}},
            "template": {
                "metadata": {"labels": {"app": "d"}},
                "spec": {"containers": [{"name": "c", "image": "nginx:1"}]},
            },
        },
    }
    created = await apps.create_namespaced_deployment("default", deployment)
    assert created.metadata.generation == 1
    labelled = await apps.patch_namespaced_deployment(
        "d", "default", {"metadata": {"labels": {"x": "y"}}}
    )
    assert labelled.metadata.generation == 1
    scaled = await apps.patch_namespaced_deployment("d", "default", {"spec": {"replicas": 3}})
    assert scaled.metadata.generation == 2
    # starting deletion bumps a set generation (kube-apiserver's BeforeDelete/markAsDeleting)
    await apps.patch_namespaced_deployment(
        "d", "default", {"metadata": {"finalizers": ["example.com/hold"]}}
    )
    await apps.delete_namespaced_deployment("d", "default")
    deleting = await apps.read_namespaced_deployment("d", "default")
    assert deleting.metadata.deletion_timestamp is not None
    assert deleting.metadata.generation == 3


async def test_binding_sets_the_node_without_a_new_generation(core, sim):
    await core.create_namespaced_pod("default", pod_body("b"))
    binding = {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": "b"},
        "target": {"kind": "Node", "name": "node-1"},
    }
    code, _ = await raw_request(sim, "POST", "/api/v1/namespaces/default/pods/b/binding", binding)
    assert code == 201
    bound = await core.read_namespaced_pod("b", "default")
    assert bound.spec.node_name == "node-1"
    assert bound.metadata.generation == 1


async def test_empty_metadata_maps_and_lists_are_not_stored(core):
    body = pod_body("e")  # labels: {}
    body["metadata"].update(annotations={}, finalizers=[])
    await core.create_namespaced_pod("default", body)
    created = await core.read_namespaced_pod("e", "default")
    assert created.metadata.labels is None and created.metadata.annotations is None
    assert created.metadata.finalizers is None
    await core.patch_namespaced_pod("e", "default", {"metadata": {"labels": {"a": "1"}}})
    patched = await core.patch_namespaced_pod("e", "default", {"metadata": {"labels": {"a": None}}})
    assert patched.metadata.labels is None


async def test_status_subresource_only_changes_status(core):
    await core.create_namespaced_pod("default", pod_body("s"))
    pod = await core.read_namespaced_pod("s", "default")
    pod.status.phase = "Running"
    pod.metadata.labels = {"ignored": "yes"}
    updated = await core.replace_namespaced_pod_status("s", "default", pod)
    assert updated.status.phase == "Running"
    assert not updated.metadata.labels
    # and a main-resource update leaves status alone
    updated.status.phase = "Failed"
    again = await core.replace_namespaced_pod("s", "default", updated)
    assert again.status.phase == "Running"


async def test_validation_rejects_unknown_fields_and_bad_names(core):
    body = pod_body("ok")
    body["spec"]["containers"][0]["imagee"] = "typo"
    with pytest.raises(ApiException) as err:
        await core.create_namespaced_pod("default", body)
    assert err.value.status == 400
    assert 'unknown field "spec.containers[0].imagee"' in status_of(err.value)["message"]

    with pytest.raises(ApiException) as err:
        await core.create_namespaced_pod("default", pod_body("Bad_Name"))
    status = status_of(err.value)
    assert err.value.status == 422 and status["reason"] == "Invalid"
    assert status["details"]["causes"][0]["field"] == "metadata.name"

    with pytest.raises(ApiException) as err:
        await core.create_namespaced_service(
            "default", {"metadata": {"name": "1svc"}, "spec": {"ports": [{"port": 80}]}}
        )
    assert err.value.status == 422
    assert "DNS-1035" in status_of(err.value)["message"]


async def test_validation_required_fields_and_enums(core):
    body = pod_body("noimage")
    del body["spec"]["containers"][0]["image"]
    with pytest.raises(ApiException) as err:
        await core.create_namespaced_pod("default", body)
    assert err.value.status == 422
    assert "spec.containers[0].image: Required value" in status_of(err.value)["message"]

    body = pod_body("badpolicy", restartPolicy="Sometimes")
    with pytest.raises(ApiException) as err:
        await core.create_namespaced_pod("default", body)
    assert err.value.status == 422
    assert "spec.restartPolicy" in status_of(err.value)["message"]

    body = pod_body("badfsgroup")
    body["spec"]["securityContext"] = {"fsGroup": 100, "fsGroupChangePolicy": "Sometimes"}
    with pytest.raises(ApiException) as err:
        await core.create_namespaced_pod("default", body)
    assert err.value.status == 422
    assert (
        'spec.securityContext.fsGroupChangePolicy: Unsupported value: "Sometimes": '
        'supported values: "Always", "OnRootMismatch"'
    ) in status_of(err.value)["message"]
    body["spec"]["securityContext"]["fsGroupChangePolicy"] = "OnRootMismatch"
    await core.create_namespaced_pod("default", body)

    body = pod_body("nocontainers")
    body["spec"]["containers"] = []
    with pytest.raises(ApiException) as err:
        await core.create_namespaced_pod("default", body)
    assert "spec.containers: Required value" in status_of(err.value)["message"]


async def test_label_and_annotation_rules(core):
    for labels in ({"bad key!": "v"}, {"k": "-bad-value"}, {"k": "x" * 64}):
        with pytest.raises(ApiException) as err:
            await core.create_namespaced_config_map(
                "default", {"metadata": {"name": "c", "labels": labels}}
            )
        assert err.value.status == 422
        assert status_of(err.value)["details"]["causes"][0]["field"] == "metadata.labels"
    ok = await core.create_namespaced_config_map(
        "default",
        {
            "metadata": {
                "name": "c",
                "labels": {"example.com/role": "a.b_c-d"},
                "annotations": {"hub.jupyter.org/username": "Any text at all!"},
            }
        },
    )
    assert ok.metadata.labels == {"example.com/role": "a.b_c-d"}


async def test_pod_spec_is_immutable_except_images(core):
    await core.create_namespaced_pod("default", pod_body("imm"))
    with pytest.raises(ApiException) as err:
        await core.patch_namespaced_pod("imm", "default", {"spec": {"restartPolicy": "Never"}})
    assert err.value.status == 422
    patched = await core.patch_namespaced_pod(
        "imm", "default", {"spec": {"containers": [{"name": "main", "image": "busybox:2"}]}}
    )
    assert patched.spec.containers[0].image == "busybox:2"


async def test_cluster_scoped_and_grouped_resources(api):
    rbac = client.RbacAuthorizationV1Api(api)
    role = await rbac.create_cluster_role(
        {
            "metadata": {"name": "reader"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}],
        }
    )
    assert role.metadata.namespace is None
    storage = client.StorageV1Api(api)
    sc = await storage.create_storage_class(
        {"metadata": {"name": "fast"}, "provisioner": "kubesim.io/hostpath"}
    )
    assert sc.reclaim_policy == "Delete"
    sched = client.SchedulingV1Api(api)
    pc = await sched.create_priority_class({"metadata": {"name": "high"}, "value": 1000})
    assert pc.value == 1000
    net = client.NetworkingV1Api(api)
    np = await net.create_namespaced_network_policy(
        "default", {"metadata": {"name": "deny"}, "spec": {"podSelector": {}}}
    )
    assert np.metadata.namespace == "default"


async def test_service_gets_cluster_ip_and_port_defaults(core):
    svc = await core.create_namespaced_service(
        "default",
        {
            "metadata": {"name": "hub"},
            "spec": {"selector": {"app": "hub"}, "ports": [{"port": 8081}]},
        },
    )
    assert svc.spec.cluster_ip.startswith("127.96.")
    assert svc.spec.ports[0].protocol == "TCP"
    assert svc.spec.ports[0].target_port == 8081


async def test_dry_run_stores_nothing(core, sim):
    created = await core.create_namespaced_pod("default", pod_body("dry"), dry_run="All")
    assert created.metadata.name == "dry"
    assert sim.get("pods", "dry", "default") is None


async def test_secret_string_data_is_folded_into_data(core):
    secret = await core.create_namespaced_secret(
        "default", {"metadata": {"name": "s"}, "stringData": {"password": "hunter2"}}
    )
    assert secret.data == {"password": "aHVudGVyMg=="}
    assert secret.string_data is None
    assert secret.type == "Opaque"


async def test_field_validation_ignore_drops_unknown_fields(sim):
    body = {"metadata": {"name": "c"}, "data": {"a": "1"}, "surprise": True}
    code, created = await raw_request(
        sim, "POST", "/api/v1/namespaces/default/configmaps?fieldValidation=Ignore", body
    )
    assert code == 201 and "surprise" not in created
    assert "surprise" not in sim.get("configmaps", "c", "default")


async def test_node_ports_and_default_storage_class(core, sim):
    svc = await core.create_namespaced_service(
        "default",
        {"metadata": {"name": "lb"}, "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}},
    )
    assert 30000 <= svc.spec.ports[0].node_port <= 32767
    await sim.store.create(
        "storageclasses",
        {
            "metadata": {
                "name": "standard",
                "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
            },
            "provisioner": "kubesim.io/hostpath",
        },
    )
    claim = {
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    created = await core.create_namespaced_persistent_volume_claim("default", claim)
    assert created.spec.storage_class_name == "standard"
    claim["metadata"]["name"] = "no-class"
    claim["spec"]["storageClassName"] = ""
    created = await core.create_namespaced_persistent_volume_claim("default", claim)
    assert created.spec.storage_class_name == ""


async def test_reads_in_a_missing_namespace_are_plain_not_found(core):
    with pytest.raises(ApiException) as err:
        await core.read_namespaced_pod("x", "ghost")
    assert err.value.status == 404
    assert status_of(err.value)["message"] == 'pods "x" not found'
    empty = await core.list_namespaced_pod("ghost")
    assert empty.items == []


async def test_config_keys_are_file_names(core):
    """ConfigMap and Secret keys, as kube-apiserver's IsConfigMapKey: a
    volume writes each as one file, so a key with "/" is refused (a chart
    ships a folder as keys plus a volume's items that put them at paths)."""
    for key, why in (
        ("pkg/module.py", "a valid config key must consist of alphanumeric characters"),
        ("..data", "must not start with '..'"),
        ("..", "must not be '..'"),
    ):
        for create, field in (
            (core.create_namespaced_config_map, "data"),
            (core.create_namespaced_secret, "stringData"),
        ):
            with pytest.raises(ApiException) as err:
                await create("default", {"metadata": {"name": "k"}, field: {key: "x"}})
            assert err.value.status == 422
            (cause,) = status_of(err.value)["details"]["causes"]
            # (a Secret's stringData is folded into data before validation)
            assert cause["field"] == f"data[{key}]"
            assert f'Invalid value: "{key}": {why}' in cause["message"]
    await core.create_namespaced_config_map(
        "default", {"metadata": {"name": "k"}, "data": {"pkg.module.py": "x", "a_B-1": "y"}}
    )


async def test_volume_item_paths_and_sub_paths_descend(core):
    """items[].path and subPath stay inside the volume (validateLocalDescendingPath);
    nested relative paths are fine."""
    good_items = [{"key": "pkg.module.py", "path": "pkg/module.py"}]
    for items, mount, field, why in (
        (
            [{"key": "a", "path": "/etc/a"}],
            {},
            "spec.volumes[0].configMap.items[0].path",
            "must be a relative path",
        ),
        (
            [{"key": "a", "path": "x/../../a"}],
            {},
            "spec.volumes[0].configMap.items[0].path",
            "must not contain '..'",
        ),
        (
            [{"key": "a", "path": "..a"}],
            {},
            "spec.volumes[0].configMap.items[0].path",
            "must not start with '..'",
        ),
        (
            good_items,
            {"subPath": "../pkg"},
            "spec.containers[0].volumeMounts[0].subPath",
            "must not contain '..'",
        ),
        (
            good_items,
            {"subPath": "/pkg"},
            "spec.containers[0].volumeMounts[0].subPath",
            "must be a relative path",
        ),
    ):
        body = pod_body("paths")
        body["spec"]["volumes"] = [{"name": "code", "configMap": {"name": "k", "items": items}}]
        body["spec"]["containers"][0]["volumeMounts"] = [
            {"name": "code", "mountPath": "/code", **mount}
        ]
        with pytest.raises(ApiException) as err:
            await core.create_namespaced_pod("default", body)
        assert err.value.status == 422
        message = status_of(err.value)["message"]
        assert f"{field}: Invalid value: " in message and why in message, message
    body = pod_body("paths")
    body["spec"]["volumes"] = [{"name": "code", "configMap": {"name": "k", "items": good_items}}]
    body["spec"]["containers"][0]["volumeMounts"] = [
        {"name": "code", "mountPath": "/code/pkg", "subPath": "pkg"}
    ]
    await core.create_namespaced_pod("default", body)
