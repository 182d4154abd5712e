"""kubespawner.objects: upstream 7.1.0's model-returning make_* functions, as
users' code calls them (upstream's own test_objects.py checks their JSON in
the conformance stage; here: the API takes what they make)."""

import base64

import pytest
from kubernetes_asyncio import client as k8s_client

from kubespawner import clients, objects

NS = "default"


async def test_the_api_takes_the_objects_upstreams_functions_make(sim, tmp_path):
    # a client of its own: load_config() keeps the first kubeconfig it loads
    # (once per set of arguments), and every test has a kubesim of its own
    configuration = await clients.load_configuration(clients.ApiSettings())
    api_client = k8s_client.ApiClient(configuration)
    core = k8s_client.CoreV1Api(api_client)
    pod = objects.make_pod(
        name="made-by-objects",
        cmd=["jupyterhub-singleuser"],
        port=8888,
        image="jupyter/singleuser:latest",
        env={
            "B": "$(A)-b",
            "A": "a",
            "SECRET": {"valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
        },
        init_containers=[k8s_client.V1Container(name="init", image="busybox")],
        volumes=[{"name": "data", "emptyDir": {}}],
        volume_mounts=[{"name": "data", "mountPath": "/data"}],
        cpu_limit=2,
        mem_limit="1Gi",
        extra_pod_config={"hostname": "h"},
    )
    assert isinstance(pod, k8s_client.V1Pod)
    # upstream's shape: nested config stays the dict it was given
    assert pod.spec.volumes[0].empty_dir == {}
    assert [e.name for e in pod.spec.containers[0].env] == ["A", "SECRET", "B"]
    created = await core.create_namespaced_pod(NS, pod)
    assert created.spec.hostname == "h"
    assert created.spec.init_containers[0].image == "busybox"
    assert created.spec.containers[0].resources.limits == {"cpu": "2", "memory": "1Gi"}

    owner = objects.make_owner_reference(created.metadata.name, created.metadata.uid)
    assert isinstance(owner, k8s_client.V1OwnerReference)
    service = objects.make_service(
        "made-by-objects", 8888, {"app": "x"}, [owner], labels={"l": "1"}
    )
    created_service = await core.create_namespaced_service(NS, service)
    assert created_service.spec.ports[0].protocol == "TCP"  # the API's default
    assert created_service.metadata.owner_references[0].uid == created.metadata.uid

    for name, text in {"key": "K", "crt": "C", "ca": "CA1\n\n", "hub-ca": "CA2\n"}.items():
        (tmp_path / name).write_text(text)
    paths = {"keyfile": tmp_path / "key", "certfile": tmp_path / "crt", "cafile": tmp_path / "ca"}
    secret = objects.make_secret("made-by-objects", "user", paths, tmp_path / "hub-ca", [owner])
    created_secret = await core.create_namespaced_secret(NS, secret)
    assert created_secret.type == "Opaque"
    assert list(created_secret.data) == ["ssl.key", "ssl.crt", "notebooks-ca_trust.crt"]

    pvc = objects.make_pvc("made-by-objects", None, ["ReadWriteOnce"], None, "1Gi")
    created_pvc = await core.create_namespaced_persistent_volume_claim(NS, pvc)
    assert created_pvc.spec.resources.requests == {"storage": "1Gi"}

    created_ns = await core.create_namespace(objects.make_namespace("made-ns", labels={"a": "b"}))
    assert created_ns.metadata.labels["a"] == "b"
    await api_client.close()


def test_make_secret_bundles_the_hub_ca_after_the_servers(tmp_path):
    for name, text in {"key": "K", "crt": "C", "ca": "CA1\n\n", "hub-ca": "CA2\n"}.items():
        (tmp_path / name).write_text(text)
    paths = {"keyfile": tmp_path / "key", "certfile": tmp_path / "crt", "cafile": tmp_path / "ca"}
    secret = objects.make_secret("s", "user", paths, tmp_path / "hub-ca", [])
    assert base64.b64decode(secret.data["notebooks-ca_trust.crt"]) == b"CA1\nCA2\n"


def test_security_contexts_take_camel_case_only():
    with pytest.raises(ValueError, match="run_as_user"):
        objects.make_pod("p", None, 8888, "i", container_security_context={"run_as_user": 1})
